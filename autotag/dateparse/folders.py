"""Dates in folder names, nearest ancestor first.

Read: ``YYYY/MM/DD`` and ``YYYY/MM`` trees at any depth, a folder named ``YYYY-MM-DD`` (any of ``-_.``
or none as separator) with or without a name after it (``2016-08-14 Lakes``), ``YYYY-MM name`` (a
month), months by their English names (``2023/September``, ``September 2023``, ``11 Sep 2023 Trip``),
and every layout of Immich's storage-template presets (``2023/09-11``, ``2023/September-11``,
``2023/September/11``, ``2023/Other/09``, ``2023-Sep-11``). A folder's date is where an event starts,
not when each photo was taken: the policy treats it so.

Not read: a year alone (``Photos from 2023``), and ``2023/2023-37`` (Immich's week preset: no month 37;
weeks 1 to 12 look like months and are read as months, a limit of the layout).
"""

from __future__ import annotations

import re

from autotag.dateparse.dayfirst import month_alone, month_day, month_year, spelled
from autotag.dateparse.model import FoundDate, valid_day

_YEAR = re.compile(r"(?:19|20)\d{2}")
_MONTH = re.compile(r"(\d{1,2})(?:[ _.-]+[^\d].*)?")  # "08", "8", "08 August", "08-Aug"
_DAY = re.compile(r"(\d{1,2})(?:[ _.-]+[^\d].*)?")
# a day anywhere in the folder's name, digit-bounded: "2016-08-14 Lakes", "Trip 2016_08_14", "20160814"
_FOLDER_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})([-_.]?)(\d{2})\2(\d{2})(?!\d)")
_FOLDER_MONTH = re.compile(r"^((?:19|20)\d{2})[-_.](\d{2})(?:[ _.-]+[^\d].*)?$")
# month and day in a year's folder: /2020/1212/, /2023/09-11/ (Immich's {{MM}}-{{dd}})
_MMDD = re.compile(r"(\d{2})([-_.]?)(\d{2})(?:[ _.-]+[^\d].*)?")
# Immich's "{{y}}/{{#if album}}{{album}}{{else}}Other/{{MM}}{{/if}}": the month of the assets in no album
_IMMICH_OTHER = "Other"

Found = tuple[FoundDate, int]  # the date and how many folders, ending with this one, say it


def _day(y: int, m: int, d: int, depth: int) -> Found | None:
    if not valid_day(y, m, d):
        return None
    return FoundDate(f"{y:04d}-{m:02d}-{d:02d}", "day", False, "folder", "folder"), depth


def _month(y: int, m: int, depth: int) -> Found | None:
    if not 1 <= m <= 12:
        return None
    return FoundDate(f"{y:04d}-{m:02d}", "month", False, "folder", "folder"), depth


def _alone(name: str) -> Found | None:
    """The date a folder's own name gives."""
    m = _FOLDER_DAY.search(name)
    if m and not re.match(r"[-_ t.]?\d{5,}", name[m.end():], re.I):
        found = _day(int(m.group(1)), int(m.group(3)), int(m.group(4)), 1)
        if found:
            return found
    m = _FOLDER_MONTH.match(name)
    if m:
        return _month(int(m.group(1)), int(m.group(2)), 1)
    named = spelled(name)  # "11 September 2023 Trip", "2023-Sep-11"
    if named:
        return _day(named[0], named[1], named[2], 1)
    ym = month_year(name)  # "September 2023"
    return _month(ym[0], ym[1], 1) if ym else None


def _month_of(name: str) -> int | None:
    """A month folder's month inside a year's folder: ``09``, ``9``, ``09 September``, ``September``."""
    m = _MONTH.fullmatch(name)
    return int(m.group(1)) if m else month_alone(name)


def _one(parts: list[str], i: int) -> Found | None:
    """The date the folder ``parts[i]`` gives, alone or with its parents (a ``YYYY/MM/DD`` tree)."""
    name = parts[i]
    found = _alone(name)
    if found:
        return found
    if i >= 2 and _YEAR.fullmatch(parts[i - 2]):
        day, month = _DAY.fullmatch(name), _month_of(parts[i - 1])
        if day and month:  # /2016/08/14/, /2023/September/11/
            found = _day(int(parts[i - 2]), month, int(day.group(1)), 3)
            if found:
                return found
        month = int(name) if parts[i - 1] == _IMMICH_OTHER and name.isdigit() else None
        if month:
            return _month(int(parts[i - 2]), month, 3)
    if i >= 1 and _YEAR.fullmatch(parts[i - 1]):
        year = int(parts[i - 1])
        mmdd = _MMDD.fullmatch(name)
        if mmdd:  # /2020/1212/, /2023/09-11/
            found = _day(year, int(mmdd.group(1)), int(mmdd.group(3)), 2)
            if found:
                return found
        md = month_day(name)  # /2023/September-11/
        if md:
            found = _day(year, md[0], md[1], 2)
            if found:
                return found
        month = _month_of(name)
        if month:
            return _month(year, month, 2)
    return None


def dated_folder(path: str) -> tuple[FoundDate, str] | None:
    """The nearest dated ancestor folder of ``path`` (a file's path) and its name as a person reads it
    (``2016-08-14 Lakes``, or ``2016/08/14`` for a tree)."""
    parts = [p for p in re.split(r"[/\\]", path) if p][:-1]
    for i in range(len(parts) - 1, -1, -1):
        found = _one(parts, i)
        if found is not None:
            date, depth = found
            return date, "/".join(parts[max(0, i + 1 - depth) : i + 1])
    return None


def parse_folders(path: str) -> FoundDate | None:
    """The date of the nearest dated ancestor folder of ``path`` (a file's path; its last part is the file)."""
    found = dated_folder(path)
    return found[0] if found else None
