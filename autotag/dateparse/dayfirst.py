"""Days not written year first: with the month's name, or day and month in the one order that works.

``11 Sep 2023``, ``Sep 11, 2023``, ``September 11th 2023``, ``2023-Sep-11`` (English month names and
their three- or four-letter abbreviations) say which number is the month, so they are read. Numbers
alone are read only when just one order makes a date: ``25.12.2021`` (there is no month 25) and
``12-25-2021``; ``07-05-2021`` is July or May and is not read, ``05.05.2021`` is the same day either
way and is. A four-digit year and two-digit day and month, with the same separator twice, are needed;
a time after the day is not read (day precision).

Each function returns ``(year, month, day, start, end)`` of the first day it finds, or None; the
caller names the family (``autotag.dateparse.names``).
"""

from __future__ import annotations

import re

from autotag.dateparse.model import valid_day

Span = tuple[int, int, int, int, int]
# ASCII case-insensitivity: under Unicode rules a dotless i (U+0131) matches "i" and a long s (U+017F)
# matches "s", giving names _MONTHS lacks
_FLAGS = re.I | re.A

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "sept": 9,
}
_MONTHS.update({name[:3]: number for name, number in list(_MONTHS.items())})
# longest first, so "september" is tried before "sep"; no letter may follow the name
_MON = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")(?![a-z])\.?"
_YEAR = r"(?P<y>(?:19|20)\d{2})(?!\d)"
_NTH = r"(?:st|nd|rd|th)?"
_SPELLED = (
    re.compile(r"(?<![0-9a-z])(?P<d>\d{1,2})" + _NTH + r"[ _.-]?" + _MON + r"[ _.,-]+" + _YEAR, _FLAGS),
    re.compile(r"(?<![0-9a-z])" + _MON + r"[ _.-]?(?P<d>\d{1,2})" + _NTH + r"(?:,\s*|[ _.-]+)" + _YEAR, _FLAGS),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[ _.-]?" + _MON + r"[ _.-]?(?P<d>\d{1,2})(?![0-9a-z])", _FLAGS),
)
_ANY_MONTH = re.compile("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec")
# a folder named for a month: "September 2023", "2023 September", "Sep-2023", with a name after it
_MONTH_YEAR = re.compile(
    r"^(?:" + _MON + r"[ _.,-]+(?P<y>(?:19|20)\d{2})|(?P<y2>(?:19|20)\d{2})[ _.-]+" + _MON.replace("mon>", "mon2>")
    + r")(?![0-9a-z])(?:[ _.-]+[^\d].*)?$",
    _FLAGS,
)
_MONTH_DAY = re.compile(r"^" + _MON + r"[ _.-]?(?P<d>\d{1,2})" + _NTH + r"(?:[ _.-]+[^\d].*)?$", _FLAGS)
# a month's name alone, with a name or a number before it: "September", "09 September", "Sep - trip"
_MONTH_ALONE = re.compile(r"^(?:\d{1,2}[ _.-]+)?" + _MON + r"(?:[ _.-]+[^\d].*)?$", _FLAGS)
# two numbers and a year: which one is the month is decided by the numbers themselves
_NUMBERS = re.compile(r"(?<![\d.:,])(\d{2})([-_. ])(\d{2})\2((?:19|20)\d{2})(?!\d|[.:,]\d)")


def spelled(text: str) -> Span | None:
    """The first day written with its month's name."""
    if not _ANY_MONTH.search(text.lower()):  # most names: a quick no
        return None
    found: list[Span] = []
    for pattern in _SPELLED:
        for m in pattern.finditer(text):
            y, mo, d = int(m.group("y")), _MONTHS[m.group("mon").lower()], int(m.group("d"))
            if valid_day(y, mo, d):
                found.append((y, mo, d, m.start(), m.end()))
                break
    return min(found, key=lambda f: f[3]) if found else None


def month_year(name: str) -> tuple[int, int] | None:
    """``(year, month)`` of a folder named for a month: ``September 2023``, ``2023 Sep``."""
    m = _MONTH_YEAR.match(name) if _ANY_MONTH.search(name.lower()) else None
    if not m:
        return None
    return int(m.group("y") or m.group("y2")), _MONTHS[(m.group("mon") or m.group("mon2")).lower()]


def month_day(name: str) -> tuple[int, int] | None:
    """``(month, day)`` of a folder named ``September-11`` or ``Sep 11`` (Immich's ``{{MMMM}}-{{dd}}``)."""
    m = _MONTH_DAY.match(name) if _ANY_MONTH.search(name.lower()) else None
    return (_MONTHS[m.group("mon").lower()], int(m.group("d"))) if m else None


def month_alone(name: str) -> int | None:
    """The month of a folder named with its month's name only (``September``), in a year's folder."""
    m = _MONTH_ALONE.match(name) if _ANY_MONTH.search(name.lower()) else None
    return _MONTHS[m.group("mon").lower()] if m else None


def unambiguous(text: str) -> Span | None:
    """The first ``DD-MM-YYYY`` or ``MM-DD-YYYY`` day that only one order makes a date."""
    for m in _NUMBERS.finditer(text):
        a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
        day_first, month_first = valid_day(y, b, a), valid_day(y, a, b)
        if day_first and (not month_first or a == b):
            return y, b, a, m.start(), m.end()
        if month_first and not day_first:
            return y, a, b, m.start(), m.end()
    return None
