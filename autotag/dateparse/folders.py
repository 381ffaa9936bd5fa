"""Dates in folder names, nearest ancestor first.

Read: ``YYYY/MM/DD`` and ``YYYY/MM`` trees at any depth, a folder named ``YYYY-MM-DD`` (any of ``-_.``
or none as separator) with or without a name after it (``2016-08-14 Lakes``), ``YYYY-MM name`` (a
month), and months by their English names (``2023/September``, ``September 2023``, ``11 Sep 2023
Trip``). A folder's date is where an event starts, not when each photo was taken: the policy treats it so.
"""

from __future__ import annotations

import re

from autotag.dateparse.dayfirst import month_alone, month_year, spelled
from autotag.dateparse.model import FoundDate, valid_day

_YEAR = re.compile(r"(?:19|20)\d{2}")
_MONTH = re.compile(r"(\d{1,2})(?:[ _.-]+[^\d].*)?")  # "08", "8", "08 August", "08-Aug"
_DAY = re.compile(r"(\d{1,2})(?:[ _.-]+[^\d].*)?")
# a day anywhere in the folder's name, digit-bounded: "2016-08-14 Lakes", "Trip 2016_08_14", "20160814"
_FOLDER_DAY = re.compile(r"(?<!\d)((?:19|20)\d{2})([-_.]?)(\d{2})\2(\d{2})(?!\d)")
_FOLDER_MONTH = re.compile(r"^((?:19|20)\d{2})[-_.](\d{2})(?:[ _.-]+[^\d].*)?$")


def _day_value(y: int, m: int, d: int) -> str | None:
    return f"{y:04d}-{m:02d}-{d:02d}" if valid_day(y, m, d) else None


def _one(parts: list[str], i: int) -> FoundDate | None:
    """The date the folder ``parts[i]`` gives, alone or with its parents (a ``YYYY/MM/DD`` tree)."""
    name = parts[i]
    m = _FOLDER_DAY.search(name)
    if m:
        value = _day_value(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if value and not re.match(r"[-_ t.]?\d{5,}", name[m.end():], re.I):
            return FoundDate(value, "day", False, "folder", "folder")
    m = _FOLDER_MONTH.match(name)
    if m and 1 <= int(m.group(2)) <= 12:
        return FoundDate(f"{m.group(1)}-{m.group(2)}", "month", False, "folder", "folder")
    named = spelled(name)  # "11 September 2023 Trip"
    if named:
        return FoundDate(f"{named[0]:04d}-{named[1]:02d}-{named[2]:02d}", "day", False, "folder", "folder")
    ym = month_year(name)  # "September 2023"
    if ym:
        return FoundDate(f"{ym[0]:04d}-{ym[1]:02d}", "month", False, "folder", "folder")
    if i >= 2 and _YEAR.fullmatch(parts[i - 2]):
        day, month = _DAY.fullmatch(name), _MONTH.fullmatch(parts[i - 1])
        if day and month:
            value = _day_value(int(parts[i - 2]), int(month.group(1)), int(day.group(1)))
            if value:
                return FoundDate(value, "day", False, "folder", "folder")
    if i >= 1 and _YEAR.fullmatch(parts[i - 1]):
        mmdd = re.fullmatch(r"(\d{2})(\d{2})(?:[ _.-]+[^\d].*)?", name)  # /2020/1212/
        if mmdd:
            value = _day_value(int(parts[i - 1]), int(mmdd.group(1)), int(mmdd.group(2)))
            if value:
                return FoundDate(value, "day", False, "folder", "folder")
        month = _MONTH.fullmatch(name)
        if month and 1 <= int(month.group(1)) <= 12:
            return FoundDate(f"{parts[i - 1]}-{int(month.group(1)):02d}", "month", False, "folder", "folder")
        number = month_alone(name)  # /2023/September/
        if number:
            return FoundDate(f"{parts[i - 1]}-{number:02d}", "month", False, "folder", "folder")
    return None


def dated_folder(path: str) -> tuple[FoundDate, str] | None:
    """The nearest dated ancestor folder of ``path`` (a file's path) and its name as a person reads it
    (``2016-08-14 Lakes``, or ``2016/08/14`` for a tree)."""
    parts = [p for p in re.split(r"[/\\]", path) if p][:-1]
    for i in range(len(parts) - 1, -1, -1):
        found = _one(parts, i)
        if found is not None:
            name = parts[i]
            tree = not (_FOLDER_DAY.search(name) or _FOLDER_MONTH.match(name) or spelled(name) or month_year(name))
            depth = 3 if tree and found.precision == "day" else 2 if tree else 1
            return found, "/".join(parts[max(0, i + 1 - depth) : i + 1])
    return None


def parse_folders(path: str) -> FoundDate | None:
    """The date of the nearest dated ancestor folder of ``path`` (a file's path; its last part is the file)."""
    found = dated_folder(path)
    return found[0] if found else None
