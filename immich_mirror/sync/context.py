"""What one sync run carries between the entity passes: client, engine, counters, progress, watermarks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from immich_mirror.api.client import ImmichClient

# Re-read everything updated this long before the last watermark. The watermark is the server's own
# clock (HTTP Date, whole seconds) at the start of the previous walk; Postgres stamps updatedAt with the
# start time of the transaction that changed a row, so a job that began just before our walk and
# committed during it carries an earlier stamp. Those transactions last milliseconds: 30 s covers them,
# the Date header's rounding and any skew between Immich's and its database's clocks on one host.
OVERLAP = timedelta(seconds=30)

ProgressFn = Callable[[str, int, int | None], None]


def no_progress(_stage: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    removed: int = 0


@dataclass
class SyncStats:
    assets: Counts = field(default_factory=Counts)
    albums: Counts = field(default_factory=Counts)
    album_links: Counts = field(default_factory=Counts)
    tags: Counts = field(default_factory=Counts)
    tag_links: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    people_links: Counts = field(default_factory=Counts)
    # Why the people pass did not run (the key lacks person.read), for the summary line.
    people_skipped: str | None = None
    reconciled: bool = False


@dataclass
class SyncContext:
    client: ImmichClient
    engine: Engine
    run_id: int
    full: bool
    owner_id: str
    include_partners: bool = False
    progress: ProgressFn = no_progress
    stats: SyncStats = field(default_factory=SyncStats)
    # Assets whose row changed in this run (new, changed, trashed, restored): their tags are re-read.
    changed_assets: set[str] = field(default_factory=set)
    # Assets the walk returned unchanged. Their stamp lies inside the overlap window, so a change that
    # committed after the last read with the same millisecond stamp would look like no change at all;
    # a tag write shows nowhere else in the payload, so their tags are re-read as well.
    recent_assets: set[str] = field(default_factory=set)
    mirror_was_empty: bool = False
    # Rows an id walk (no EXIF) inserted because the mirror lacked them: to be read in full.
    without_exif: set[str] = field(default_factory=set)
    # The assets the last push verified and the server time its verification began (sync/pushed.py),
    # and those of them this run found moved by nothing but that push: their tags are not re-read.
    pushed: frozenset[str] = frozenset()
    pushed_before: datetime | None = None
    trusted: set[str] = field(default_factory=set)

    def trust_push(self, asset_id: str, old_raw: str, new_raw: bytes, stamp: Any) -> None:
        """Note ``asset_id`` as moved by the last push alone, if it was one of its verified assets."""
        if self.pushed_before is None or asset_id not in self.pushed:
            return
        if not isinstance(stamp, str) or parse_ts(stamp) >= self.pushed_before:
            return
        if only_stamp_moved(old_raw.encode(), new_raw):
            self.trusted.add(asset_id)

    def keeps(self, item_owner: str | None) -> bool:
        return self.include_partners or item_owner == self.owner_id


def get_state(conn: Connection, key: str) -> str | None:
    return conn.execute(text("SELECT value FROM sync_state WHERE key = :k"), {"k": key}).scalar()


def set_state(conn: Connection, key: str, value: str | None) -> None:
    conn.execute(
        text(
            "INSERT INTO sync_state(key, value, updated_at) VALUES (:k, :v, :t) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        ),
        {"k": key, "v": value, "t": datetime.now(UTC).isoformat()},
    )


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


_STAMP = b'"updatedAt":"'


def _without_stamp(raw: bytes) -> bytes | None:
    start = raw.find(_STAMP)
    if start < 0:
        return None
    end = raw.find(b'"', start + len(_STAMP))
    return raw[:start] + raw[end:] if end >= 0 else None


def only_stamp_moved(old_raw: bytes, new_raw: bytes) -> bool:
    """True when two asset payloads (as the mirror dumps them: one server sends one key order) differ in
    ``updatedAt`` alone, or not at all."""
    if old_raw == new_raw:
        return True
    old, new = _without_stamp(old_raw), _without_stamp(new_raw)
    return old is not None and old == new
