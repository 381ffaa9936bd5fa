"""The asset pass: ``search/metadata`` pages upserted into ``assets``, a watermark, and purge detection.

Incremental runs ask for ``updatedAfter = watermark - OVERLAP``; the watermark is the server's clock
when the previous walk *started*, so anything that changed while a walk was running is read again next
time. The legacy paging has no tie-breaker (rows can repeat or slip between pages while the server
changes); repeats are harmless upserts, and a slipped row has ``updatedAt`` after the walk's start, so
the next run reads it. Each page commits on its own: an interrupted sync keeps every page it wrote and
the old watermark, so the next run simply reads the interrupted range again.

Purges (hard deletes) never show up in ``updatedAfter``. A full walk (``--full``) stamps every row it
sees with the run id and deletes the owner's rows it did not see; an incremental run compares the
server's asset count with the mirror's and does an id-only walk of the same kind when they differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from immich_mirror.sync.context import OVERLAP, SyncContext, get_state, parse_ts, set_state
from immich_mirror.sync.prefetch import prefetched
from immich_mirror.sync.rows import ASSET_COLUMNS, asset_row, dump, iso_utc

WATERMARK_KEY = "assets.watermark"

_PLACEHOLDERS = ", ".join("?" for _ in ASSET_COLUMNS)
_UPDATES = ", ".join(f"{c} = excluded.{c}" for c in ASSET_COLUMNS if c != "id")
UPSERT_SQL = (
    f"INSERT INTO assets ({', '.join(ASSET_COLUMNS)}) VALUES ({_PLACEHOLDERS}) "
    f"ON CONFLICT(id) DO UPDATE SET {_UPDATES}"
)


def _in_clause(n: int) -> str:
    return ", ".join("?" for _ in range(n))


def write_page(conn: Connection, ctx: SyncContext, items: list[dict[str, Any]], *, mark_only: bool) -> None:
    """Upsert one page; rows whose payload is byte-identical are only stamped as seen."""
    page: dict[str, dict[str, Any]] = {}
    for item in items:
        if ctx.keeps(item.get("ownerId")):
            page[item["id"]] = item  # a row repeated inside a page: the last copy wins
    if not page:
        return
    ids = list(page)
    if mark_only:
        conn.exec_driver_sql(
            f"UPDATE assets SET synced_run = ? WHERE id IN ({_in_clause(len(ids))})", (ctx.run_id, *ids)
        )
        return
    existing: dict[str, str] = {}
    if not ctx.mirror_was_empty:  # a first sync has nothing to compare with: skip the lookup
        existing = dict(
            conn.exec_driver_sql(f"SELECT id, raw FROM assets WHERE id IN ({_in_clause(len(ids))})", tuple(ids)).all()
        )
    rows = []
    unchanged = []
    for asset_id, item in page.items():
        raw = dump(item)
        old = existing.get(asset_id)
        if old is None and asset_id in ctx.changed_assets:
            pass  # a first sync meeting a row again on a later page: already counted
        elif old is None:
            ctx.stats.assets.added += 1
        elif old.encode() == raw:
            unchanged.append(asset_id)
            continue
        else:
            ctx.stats.assets.changed += 1
        ctx.changed_assets.add(asset_id)
        rows.append(asset_row(item, raw, ctx.run_id))
    if rows:
        conn.exec_driver_sql(UPSERT_SQL, rows)
    if unchanged:
        ctx.recent_assets.update(unchanged)
        conn.exec_driver_sql(
            f"UPDATE assets SET synced_run = ? WHERE id IN ({_in_clause(len(unchanged))})",
            (ctx.run_id, *unchanged),
        )


def _walk(ctx: SyncContext, updated_after: datetime | None, *, with_exif: bool, mark_only: bool) -> int:
    seen = 0
    pages = ctx.client.search_assets(
        visibility=None, with_deleted=True, updated_after=updated_after, with_exif=with_exif, size=1000
    )
    for items in prefetched(pages):
        with ctx.engine.begin() as conn:
            write_page(conn, ctx, items, mark_only=mark_only)
        seen += len(items)
        ctx.progress("assets", seen, None)
    return seen


def _delete_unseen(ctx: SyncContext) -> None:
    """Remove the owner's assets that the complete walk just done did not return: purged on the server."""
    owner_clause = "" if ctx.include_partners else "AND owner_id = :owner"
    params = {"run": ctx.run_id, "owner": ctx.owner_id}
    with ctx.engine.begin() as conn:
        gone = f"SELECT id FROM assets WHERE (synced_run IS NULL OR synced_run != :run) {owner_clause}"
        conn.execute(text(f"DELETE FROM album_assets WHERE asset_id IN ({gone})"), params)
        conn.execute(text(f"DELETE FROM asset_tags WHERE asset_id IN ({gone})"), params)
        removed = conn.execute(
            text(f"DELETE FROM assets WHERE (synced_run IS NULL OR synced_run != :run) {owner_clause}"),
            params,
        ).rowcount
    ctx.stats.assets.removed += removed


# (server query, mirror condition): together they cover every asset a purge can take away. The trash
# matters most: emptying it purges assets that were never in the live count.
_COUNTS: tuple[tuple[dict[str, Any], str], ...] = (
    ({}, "is_trashed = 0 AND visibility IN ('timeline', 'archive')"),
    ({"trashed": True}, "is_trashed = 1 AND visibility IN ('timeline', 'archive')"),
    ({"visibility": "hidden"}, "is_trashed = 0 AND visibility = 'hidden'"),
)


def _server_counts_differ(ctx: SyncContext) -> bool:
    """Cheap purge detection: the server's counts of the owner's live, trashed and hidden assets."""
    for query, condition in _COUNTS:
        server_total = int(ctx.client.asset_statistics(**query).get("total", -1))
        with ctx.engine.connect() as conn:
            mirror_total = conn.execute(
                text(f"SELECT COUNT(*) FROM assets WHERE owner_id = :o AND {condition}"), {"o": ctx.owner_id}
            ).scalar()
        if server_total != mirror_total:
            return True
    return False


def updated_after(ctx: SyncContext) -> datetime | None:
    """Where this run's walks start: None (everything) on --full or before the first complete walk."""
    with ctx.engine.connect() as conn:
        mark = get_state(conn, WATERMARK_KEY)
    return None if (ctx.full or mark is None) else parse_ts(mark) - OVERLAP


def sync_assets(ctx: SyncContext, since: datetime | None, server_now: datetime) -> None:
    with ctx.engine.connect() as conn:
        ctx.mirror_was_empty = conn.exec_driver_sql("SELECT 1 FROM assets LIMIT 1").first() is None
    updated_after = since
    _walk(ctx, updated_after, with_exif=True, mark_only=False)
    if updated_after is None:
        _delete_unseen(ctx)
        ctx.stats.reconciled = True
    elif _server_counts_differ(ctx):
        # Ids only: no EXIF, rows are stamped, not rewritten.
        _walk(ctx, None, with_exif=False, mark_only=True)
        _delete_unseen(ctx)
        ctx.stats.reconciled = True
    with ctx.engine.begin() as conn:
        set_state(conn, WATERMARK_KEY, iso_utc(server_now.isoformat()))
