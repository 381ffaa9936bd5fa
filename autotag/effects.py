"""What a confirmed mutation means locally: its effect on the mirror, its ``changes`` row, and the
calls a push would make (``push --dry-run``).

Kept apart from the pusher so that undo, tests and the dry run share one definition of each kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from autotag.outbox import OutboxRow, live_rows
from autotag.zones import kept_zone
from immich_mirror.sync.rows import iso_utc


def change_of(row: OutboxRow, note: str | None) -> dict[str, Any]:
    before: Any
    after: Any
    if row.kind in ("tag_add", "album_add"):
        before, after = False, True
    elif row.kind in ("tag_remove", "album_remove"):
        before, after = True, False
    elif row.kind in ("album_delete", "tag_delete"):
        # Logged as applied (``after`` not null), like the creation it reverts: undo's run lists and
        # counts show what it deleted, by name (``before``: {"name": ...} as undo queued it).
        before, after = row.before or True, False
    else:
        before, after = row.before, row.payload
    return {
        "outbox_id": row.id or None,
        "asset_id": row.asset_id,
        "kind": row.kind,
        "target": row.target,
        "before": before,
        "after": after,
        "note": note,
    }


def apply_to_mirror(conn: Any, rows: Sequence[OutboxRow], tag_ids: dict[str, str]) -> None:
    """The confirmed effect, written into the mirror so the next classify needs no full sync."""
    adds = [(r.asset_id, tag_ids[r.target]) for r in rows if r.kind == "tag_add" and r.target in tag_ids]
    removes = [
        (r.asset_id, tag_ids[r.target]) for r in rows if r.kind == "tag_remove" and r.target in tag_ids
    ]
    if adds:
        conn.exec_driver_sql("INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?, ?)", adds)
    if removes:
        conn.exec_driver_sql("DELETE FROM asset_tags WHERE asset_id = ? AND tag_id = ?", removes)
    album_adds = [(r.target, r.asset_id) for r in rows if r.kind == "album_add"]
    album_removes = [(r.target, r.asset_id) for r in rows if r.kind == "album_remove"]
    if album_adds:
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO album_assets(album_id, asset_id) VALUES (?, ?)", album_adds
        )
    if album_removes:
        conn.exec_driver_sql("DELETE FROM album_assets WHERE album_id = ? AND asset_id = ?", album_removes)
    dates = [
        (iso_utc(r.payload["dateTimeOriginal"]), kept_zone(r.payload["dateTimeOriginal"]), r.asset_id)
        for r in rows
        if r.kind == "set_date" and r.payload and r.payload.get("dateTimeOriginal")
    ]
    if dates:
        # The EXIF date only, in the sync's UTC form: that is all Immich changes at once. Its timeline
        # date (localDateTime) follows after its jobs; until then the date features read the wall
        # clock sent from ``date_pushed`` (autotag/features/common.py), which the next sync cannot undo.
        # The zone is the offset label Immich keeps after its jobs, never the name sent (see kept_zone).
        conn.exec_driver_sql("UPDATE assets SET date_time_original = ?, time_zone = ? WHERE id = ?", dates)



def describe_pending(engine: Engine, chunk_size: int = 1000) -> list[str]:
    """The calls a push would make now (``push --dry-run``)."""
    with engine.connect() as conn:
        rows = live_rows(conn)
    lines: list[str] = []
    by_asset: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.kind == "tag_add":
            by_asset[r.asset_id or ""].add(r.target)
    groups: dict[frozenset[str], int] = defaultdict(int)
    for asset_tags in by_asset.values():
        groups[frozenset(asset_tags)] += 1
    for tag_set, n in sorted(groups.items(), key=lambda g: sorted(g[0])):
        calls = -(-n // chunk_size)
        lines.append(f"PUT /api/tags/assets tags={sorted(tag_set)} assets={n} ({calls} call(s))")
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r.kind != "tag_add":
            counts[(r.kind, r.target)] += 1
    route = {
        "tag_remove": "DELETE /api/tags/{tag}/assets",
        "album_add": "PUT /api/albums/{album}/assets",
        "album_remove": "DELETE /api/albums/{album}/assets",
        "set_date": "PUT /api/assets",
        "album_delete": "DELETE /api/albums/{album}",
        "tag_delete": "DELETE /api/tags/{tag}",
    }
    for (kind, target), n in sorted(counts.items()):
        lines.append(f"{route.get(kind, kind)} {kind} target={target} assets={n}")
    return lines
