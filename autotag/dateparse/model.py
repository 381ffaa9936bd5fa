"""What a date read from a name or folder is, and the range checks every family shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Precision = Literal["time", "day", "month"]

# Years a name or folder may carry. Wider than what the policy calls credible (dates.min_date): the
# parser says what a name means, the policy decides whether to trust it.
MIN_YEAR = 1900
MAX_YEAR = 2099


@dataclass(frozen=True)
class FoundDate:
    """A date read from a file name or a folder.

    ``value`` is ``YYYY-MM-DDTHH:MM:SS`` (precision ``time``), ``YYYY-MM-DD`` (``day``) or ``YYYY-MM``
    (``month``). ``instant`` means the value is UTC (a Pixel name, a Unix timestamp); otherwise it is the
    wall clock where the photo was taken, in an unknown zone. ``family`` names the convention that
    matched (docs/rules.md lists them); ``source`` is ``name`` or ``folder``.
    """

    value: str
    precision: Precision
    instant: bool
    family: str
    source: str = "name"

    @property
    def day(self) -> str:
        return self.value[:10]


def valid_day(y: int, m: int, d: int) -> bool:
    if not (MIN_YEAR <= y <= MAX_YEAR and 1 <= m <= 12 and 1 <= d <= 31):
        return False
    try:
        datetime(y, m, d)
    except ValueError:  # 30 February, 31 April, 29 February of a common year
        return False
    return True


def clock(hour: int, minute: int, second: int, meridiem: str | None) -> tuple[int, int, int] | None:
    """The 24-hour time, or None when a field is out of range (13 PM, minute 60, second 60)."""
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower().startswith("p") else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
        return None
    return hour, minute, second


def wall(y: int, m: int, d: int, hh: int, mm: int, ss: int) -> str:
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}"


def from_epoch(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
