"""The date-repair policy: whether an asset's date is replaced, and by what. Pure functions, no I/O.

The current date's *source* decides first (docs/rules.md, "Date repair"): a date Immich read from the
file's own metadata is left alone unless it is not credible or ``dates.override_metadata`` is on; a
date Immich took from the file's timestamps (or the upload) is corrected. The asset is judged by its
*original* state, the one before the tool first wrote a date to it: a crashed push, a rerun or an undo
then plan exactly what an uninterrupted run planned, and a date the tool wrote never feeds another.

Candidates, first usable wins: the file name's date (with a time), a duplicate's metadata date, the
file name's day, a duplicate's file name, the nearest dated folder. A candidate agreeing with the
current date (same day for a day, same month for a month, within ``min_difference_hours`` for a wall
clock, two minutes for an instant) changes nothing; a folder is where an event starts, so a date up to
``event_window_days`` after it is kept too.

What the asset says of itself beats what a duplicate says of it: a duplicate's date never replaces the
asset's own credible metadata date (not even with ``override_metadata``), and when a duplicate's date
disagrees with the asset's own file-name date (a photo forwarded years later is a duplicate of the
original, dated by the forward), nothing is changed and the asset is flagged for a person
(``Disagreement``) rather than one of the two picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from autotag.zones import FIXED_LABEL, zone_offset

INSTANT_TOLERANCE = timedelta(minutes=2)


@dataclass(frozen=True)
class DateState:
    """An asset's date as Immich holds it: the instant, its zone (IANA name, ``UTC+2`` label or None)
    and the wall clock; ``from_metadata`` when Immich read it from the file's metadata."""

    instant: datetime | None
    zone: str | None
    local: str
    from_metadata: bool


@dataclass(frozen=True)
class Candidate:
    rule: str  # name | duplicate | folder: what the dry run groups by
    family: str  # the parser family, "pattern", "duplicate" or "folder"
    value: str  # YYYY-MM-DDTHH:MM:SS (UTC when instant), YYYY-MM-DD or YYYY-MM
    precision: str  # time | day | month
    instant: bool
    detail: str  # for the reason: "the file name", "the folder '2016-08-14 Lakes'", ...
    zone: str | None = None  # a duplicate's own zone, kept with its date

    @property
    def day(self) -> str:
        return self.value[:10] if self.precision != "month" else self.value + "-01"


@dataclass(frozen=True)
class Policy:
    min_date: str = "1990-01-01"
    ignore_dates: frozenset[str] = frozenset({"1970-01-01", "2000-01-01"})
    min_difference_hours: float = 24
    date_only_time: str = "12:00:00"
    default_time_zone: str | None = None
    override_metadata: bool = False
    event_window_days: int = 14
    # the last credible day of a current date (tomorrow); a candidate's is also its upload's day + 1
    today: str = "9999-12-31"


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    new_local: str  # the wall clock the asset gets
    new_iso: str  # dateTimeOriginal to send, with its offset
    time_zone: str | None  # the IANA name to send with it, if any
    old_credible: bool


@dataclass(frozen=True)
class Disagreement:
    """The asset's own file-name date and a duplicate's date disagree: nothing changes, a person decides."""

    own: Candidate
    other: Candidate


def is_iana(zone: str | None) -> bool:
    return bool(zone) and FIXED_LABEL.fullmatch(zone or "") is None


def iso_at(local: str, offset: timedelta) -> str:
    return datetime.fromisoformat(local).replace(tzinfo=timezone(offset)).isoformat()


def state_iso(state: DateState) -> str:
    """The state's date as ``dateTimeOriginal`` text: its instant at its zone's offset."""
    if state.instant is not None:
        offset = zone_offset(state.zone, instant=state.instant)
        return state.instant.astimezone(timezone(offset)).isoformat()
    return iso_at(state.local, zone_offset(state.zone, datetime.fromisoformat(state.local)))


def credible(day: str, policy: Policy, latest: str) -> bool:
    """On or after ``min_date``, not after ``latest`` (the upload's day + 1), not a camera-reset day."""
    return policy.min_date <= day <= latest and day not in policy.ignore_dates


def _agrees(state: DateState, c: Candidate, policy: Policy) -> bool:
    if c.precision == "month":
        return state.local[:7] == c.value
    if c.precision == "day":
        return state.local[:10] == c.value
    if c.instant:
        if state.instant is None:
            return False
        return abs(state.instant - datetime.fromisoformat(c.value).replace(tzinfo=UTC)) <= INSTANT_TOLERANCE
    gap = abs(datetime.fromisoformat(state.local) - datetime.fromisoformat(c.value))
    return gap <= timedelta(hours=policy.min_difference_hours)


def _in_event(state: DateState, c: Candidate, policy: Policy) -> bool:
    """A folder names where an event starts: dates from its first day up to the window after it."""
    start = datetime.fromisoformat(c.day)
    end = start + timedelta(days=policy.event_window_days + 1)
    if c.precision == "month":
        end = (start + timedelta(days=32)).replace(day=1) + timedelta(days=policy.event_window_days)
    return start <= datetime.fromisoformat(state.local[:10]) < end


def wall_clock(c: Candidate, zone: str | None) -> str:
    """The candidate's date as a wall clock: an instant in its own zone (a duplicate's), else ``zone``."""
    if not c.instant:
        return c.value if c.precision != "month" else c.day
    instant = datetime.fromisoformat(c.value).replace(tzinfo=UTC)
    return (instant + zone_offset(c.zone or zone, instant=instant)).strftime("%Y-%m-%dT%H:%M:%S")


def same_date(a: Candidate, b: Candidate, policy: Policy, zone: str | None) -> bool:
    """Whether two candidates name the same date, at the coarser precision of the two, within
    ``min_difference_hours`` (as a current date agrees with a candidate): with the default 24, days one
    apart agree (a WhatsApp name is the day the photo was sent, often the day after it was taken)."""
    wa, wb = wall_clock(a, zone), wall_clock(b, zone)
    if "month" in (a.precision, b.precision):
        return wa[:7] == wb[:7]
    if "day" in (a.precision, b.precision):
        days = abs((datetime.fromisoformat(wa[:10]) - datetime.fromisoformat(wb[:10])).days)
        return days * 24 <= policy.min_difference_hours
    gap = abs(datetime.fromisoformat(wa) - datetime.fromisoformat(wb))
    return gap <= timedelta(hours=policy.min_difference_hours)


def decide(
    state: DateState, candidates: list[Candidate], policy: Policy, latest: str
) -> Decision | Disagreement | None:
    """The date ``state`` should get from ``candidates`` (in priority order), None to keep it, or a
    ``Disagreement`` when a duplicate's date contradicts the asset's own file-name date.

    ``latest``: the last day a candidate may be on (the upload's day + 1: no photo is taken after it
    was uploaded). The current date is judged against today only: a date Immich read from a file is
    not damaged because the upload time looks odd."""
    old_credible = credible(state.local[:10], policy, policy.today)
    if state.from_metadata and old_credible and not policy.override_metadata:
        return None
    usable = [c for c in candidates if credible(c.day, policy, latest)]
    if state.from_metadata and old_credible:  # override_metadata: the asset's own sources only
        usable = [c for c in usable if c.rule != "duplicate"]
    own = next((c for c in usable if c.rule == "name"), None)
    if own is not None:
        zone = state.zone or policy.default_time_zone
        other = next((c for c in usable if c.rule == "duplicate" and not same_date(own, c, policy, zone)), None)
        if other is not None:
            return Disagreement(own, other)
    winner = usable[0] if usable else None
    if winner is None:
        return None
    in_event = winner.rule == "folder" and _in_event(state, winner, policy)
    if old_credible and (_agrees(state, winner, policy) or in_event):
        return None
    if old_credible and state.from_metadata and winner.day > state.local[:10]:
        return None  # opted in to override metadata: still never moved later
    zone = winner.zone if winner.rule == "duplicate" and winner.instant else state.zone or policy.default_time_zone
    if winner.instant:
        instant = datetime.fromisoformat(winner.value).replace(tzinfo=UTC)
        offset = zone_offset(zone, instant=instant)
        local = (instant + offset).strftime("%Y-%m-%dT%H:%M:%S")
    else:
        local = winner.value if winner.precision == "time" else winner.day + "T" + policy.date_only_time
        offset = zone_offset(zone, datetime.fromisoformat(local))
    return Decision(winner, local, iso_at(local, offset), zone if is_iana(zone) else None, old_credible)
