"""Time-zone offsets as a table, so that zone arithmetic is plain SQL any SQLite client can run.

``zone_offsets(zone, wall_from, wall_to, utc_offset)`` holds, for each zone the mirror uses, the
intervals of wall-clock time (``wall_from`` inclusive, ``wall_to`` exclusive, ISO text) over which it
has one UTC offset (``+02:00``). ``zoned_iso_sql(local, zone)`` is the SQL expression reading it:
``2019-04-12T15:30:00`` in ``Europe/Berlin`` -> ``2019-04-12T15:30:00+02:00``. It answers exactly as
``zoned_iso`` below, which is the definition: an IANA name or Immich's fixed-offset label (``UTC+2``,
``UTC-5:30``); an unknown, empty or NULL zone is UTC; a wall-clock time that occurs twice (autumn) or
not at all (spring) takes the offset before the change, as Python's ``fold=0`` does.

Rows are computed once per zone name (a name's rules do not change between runs) from 1800 to 2100;
before the first change the earliest offset holds, after 2100 the last one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

TABLE = "zone_offsets"
COLUMNS = (
    "zone TEXT NOT NULL, wall_from TEXT NOT NULL, wall_to TEXT NOT NULL, utc_offset TEXT NOT NULL, "
    "PRIMARY KEY (zone, wall_from)"
)
FIRST = datetime(1800, 1, 1)
LAST = datetime(2100, 1, 1)
BEGINNING = "0000-01-01T00:00:00"
END = "9999-12-31T23:59:59"
_FMT = "%Y-%m-%dT%H:%M:%S"
# Immich's fixed-offset labels: "UTC", "UTC+2", "UTC-5:30" (and "UTC+0530", as some writers put it).
FIXED_LABEL = re.compile(r"UTC(?:([+-])(\d{1,2})(?::?(\d{2}))?)?")


def zone_offset(zone: str | None, local: datetime | None = None, instant: datetime | None = None) -> timedelta:
    """The UTC offset of ``zone`` at a naive wall clock ``local`` or at an ``instant``; a label's fixed
    offset; an unknown, empty or NULL zone is UTC."""
    if not zone:
        return timedelta(0)
    label = FIXED_LABEL.fullmatch(zone)
    if label:
        if not label.group(1):
            return timedelta(0)
        sign = -1 if label.group(1) == "-" else 1
        return sign * timedelta(hours=int(label.group(2)), minutes=int(label.group(3) or 0))
    tz = _zone(zone)
    if tz is None:
        return timedelta(0)
    if instant is not None:
        return instant.astimezone(tz).utcoffset() or timedelta(0)
    assert local is not None
    return local.replace(tzinfo=tz).utcoffset() or timedelta(0)


def offset_at(wall: datetime, zone: str | None) -> timedelta:
    """The UTC offset of the naive wall-clock time ``wall`` in ``zone`` (see the module docstring)."""
    return zone_offset(zone, local=wall)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zoned_iso(local: str | None, zone: str | None) -> str | None:
    """``local`` (ISO wall-clock text) with the offset ``zone`` has then; None for no date."""
    if local is None:
        return None
    try:
        when = datetime.fromisoformat(str(local)[:19])
    except ValueError:
        return None
    return when.replace(tzinfo=timezone(offset_at(when, zone))).isoformat()


def _suffix(offset: timedelta) -> str:
    return datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]


@lru_cache(maxsize=256)
def intervals(zone: str) -> tuple[tuple[str, str, str], ...]:
    """``(wall_from, wall_to, utc_offset)`` covering all time; () for a name that is no zone (UTC)."""
    if FIXED_LABEL.fullmatch(zone):
        return ((BEGINNING, END, _suffix(offset_at(FIRST, zone))),)
    tz = _zone(zone)
    if tz is None:
        return ()

    def offset(wall: datetime) -> timedelta | None:
        return wall.replace(tzinfo=tz).utcoffset()

    # A change shows as a different offset one day later (no zone changes twice within a day); the
    # first second of the new offset is then found by bisection.
    starts: list[tuple[datetime, timedelta | None]] = [(FIRST, offset(FIRST))]
    day = timedelta(days=1)
    wall = FIRST
    current = starts[0][1]
    while wall < LAST:
        nxt = wall + day
        off = offset(nxt)
        if off != current:
            lo, hi = wall, nxt  # offset(lo) is the old one, offset(hi) the new one
            while hi - lo > timedelta(seconds=1):
                mid = (lo + (hi - lo) // 2).replace(microsecond=0)
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            starts.append((hi, off))
            current = off
        wall = nxt
    rows: list[tuple[str, str, str]] = []
    for i, (start, off) in enumerate(starts):
        begin = BEGINNING if i == 0 else start.strftime(_FMT)
        end = starts[i + 1][0].strftime(_FMT) if i + 1 < len(starts) else END
        rows.append((begin, end, _suffix(off or timedelta(0))))
    return tuple(rows)


def refresh(conn: Connection, zones: Iterable[str | None]) -> None:
    """Add the rows of every zone in ``zones`` that the table does not hold yet."""
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} ({COLUMNS})")
    have = {str(z) for (z,) in conn.exec_driver_sql(f"SELECT DISTINCT zone FROM {TABLE}")}
    for zone in sorted({z for z in zones if z} - have):
        rows = intervals(zone)
        if rows:
            conn.exec_driver_sql(
                f"INSERT OR REPLACE INTO {TABLE} (zone, wall_from, wall_to, utc_offset) VALUES (?, ?, ?, ?)",
                [(zone, *row) for row in rows],
            )


def zoned_iso_sql(local: str, zone: str) -> str:
    """The SQL for ``zoned_iso(local, zone)`` over ``zone_offsets`` (``local``, ``zone``: SQL expressions
    of code, such as column references; they are repeated)."""
    wall = f"strftime('%Y-%m-%dT%H:%M:%S', substr({local}, 1, 19))"
    return (
        f"({wall} || coalesce((SELECT z.utc_offset FROM {TABLE} AS z WHERE z.zone = {zone} "
        f"AND z.wall_from <= {wall} ORDER BY z.wall_from DESC LIMIT 1), '+00:00'))"
    )


# What Immich keeps of a zone. It stores a ``timeZone`` name sent with a date (``Europe/Berlin``) only
# until its jobs re-read the date from the sidecar, which holds an offset: v2.7.5 and v3.1.0 then keep
# the label ``UTC+2`` (summer) or ``UTC+1`` (winter), never the name (recorded:
# assets_bulk_put_dateTimeRelative_effect). So what the tool can know it kept is the instant and the
# offset, and that is what it compares.
def kept_zone(sent: str) -> str | None:
    """The zone Immich keeps for a ``dateTimeOriginal`` sent with an offset: its label (``UTC+2``)."""
    try:
        offset = datetime.fromisoformat(sent.replace("Z", "+00:00")).utcoffset()
    except ValueError:
        return None
    if offset is None:
        return None
    minutes = int(offset.total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'-' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")


def label_offset_sql(zone: str) -> str:
    """SQL: the offset (``+02:00``) of Immich's label ``zone`` (``UTC+2``, ``UTC-5:30``), NULL for any
    other value (an IANA name, NULL). ``zone`` is an SQL expression of code; it is repeated."""
    colon = f"instr({zone}, ':')"
    return (
        f"(CASE WHEN {zone} GLOB 'UTC[+-][0-9]*' THEN substr({zone}, 4, 1) || printf('%02d:%02d', "
        f"CAST(substr({zone}, 5, CASE WHEN {colon} > 0 THEN {colon} - 5 ELSE 9 END) AS INTEGER), "
        f"CASE WHEN {colon} > 0 THEN CAST(substr({zone}, {colon} + 1) AS INTEGER) ELSE 0 END) END)"
    )


def offset_kept_sql(zone: str, sent: str) -> str:
    """SQL: true unless the server's ``zone`` is a label whose offset differs from that of the ISO
    date ``sent`` (a name means its jobs have not re-read the date yet: nothing to compare)."""
    return f"coalesce({label_offset_sql(zone)} = substr({sent}, 20), 1)"
