"""The asset pass: ``search/metadata`` pages upserted into ``assets``, a watermark, and purge detection.

Incremental runs ask for ``updatedAfter = watermark - OVERLAP``; the watermark is the server's clock
when the previous walk *started*, so anything that changed while a walk was running is read again next
time. Each page commits on its own: an interrupted sync keeps every page it wrote and the old watermark,
so the next run simply reads the interrupted range again.

The legacy paging is an OFFSET with no tie-breaker. Repeats are harmless upserts, but when a row before
the current offset leaves the walk (purged, or archived during a per-visibility walk) every later row
moves up one place and the row at the page boundary is skipped although it never changed, so no later
``updatedAfter`` returns it. Hence the counts: the server's per-visibility and trash counts of the
owner's assets are read before and after the walk. When they moved during it, or differ from the
mirror's, an id-only walk of everything (``reconcile``) stamps every row it sees, inserts the ones the
mirror lacks (their EXIF read one by one when few, else by a walk with EXIF), and removes the rows it
did not see, each first looked up on the server when few (a row that slipped past this walk too is
kept, not deleted). Until a walk ends with steady counts equal to the mirror's, it is repeated (a few
times at most; the next sync goes on from there).

Purges (hard deletes) never show up in ``updatedAfter``: the counts catch them too, and ``--full``
always reconciles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from immich_mirror.errors import NotFound
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


def write_page(conn: Connection, ctx: SyncContext, items: list[dict[str, Any]], *, reconcile: bool) -> None:
    """Upsert one page; rows whose payload is byte-identical are only stamped as seen.

    ``reconcile``: a page of an id walk (no EXIF): every row is stamped, and only rows the mirror lacks
    are written (and remembered in ``ctx.without_exif`` when the page had no EXIF).
    """
    page: dict[str, dict[str, Any]] = {}
    for item in items:
        if ctx.keeps(item.get("ownerId")):
            page[item["id"]] = item  # a row repeated inside a page: the last copy wins
    if not page:
        return
    ids = list(page)
    if reconcile:
        page = _stamp_known(conn, ctx, page)
    existing: dict[str, str] = {}
    if not ctx.mirror_was_empty and not reconcile:  # a first sync has nothing to compare with: no lookup
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
            ctx.trust_push(asset_id, old, raw, item.get("updatedAt"))
            continue
        else:
            ctx.stats.assets.changed += 1
            ctx.trust_push(asset_id, old, raw, item.get("updatedAt"))
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


def _stamp_known(conn: Connection, ctx: SyncContext, page: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """An id-walk page: stamp the rows the mirror has, and return those it lacks (to be written)."""
    ids = list(page)
    known = conn.exec_driver_sql(
        f"SELECT id, visibility, is_trashed FROM assets WHERE id IN ({_in_clause(len(ids))})", tuple(ids)
    ).all()
    if known:
        conn.exec_driver_sql(
            f"UPDATE assets SET synced_run = ? WHERE id IN ({_in_clause(len(known))})",
            (ctx.run_id, *(k.id for k in known)),
        )
    # A known row in another place than the mirror says moved after the walk read it: the counts would
    # not agree before the next incremental walk, so it is read in full now.
    ctx.without_exif.update(
        k.id for k in known
        if (k.visibility, bool(k.is_trashed)) != (page[k.id].get("visibility"), bool(page[k.id].get("isTrashed")))
    )
    known_ids = {k.id for k in known}
    missing = {i: item for i, item in page.items() if i not in known_ids}
    ctx.without_exif.update(i for i, item in missing.items() if "exifInfo" not in item)
    return missing


def _walk(
    ctx: SyncContext, updated_after: datetime | None, *, with_exif: bool, reconcile: bool, total: int | None = None
) -> int:
    """Walk the assets page by page; ``total``: how many the walk should see, when known (an estimate:
    the progress reports it only while the walk has seen fewer, and ``sync_assets`` ends the stage)."""
    seen = 0
    ctx.progress("assets", 0, total or None)
    pages = ctx.client.search_assets(
        visibility=None, with_deleted=True, updated_after=updated_after, with_exif=with_exif, size=1000
    )
    for items in prefetched(pages):
        with ctx.engine.begin() as conn:
            write_page(conn, ctx, items, reconcile=reconcile)
        seen += len(items)
        ctx.progress("assets", seen, total if total is not None and seen < total else None)
    return seen


# Rows missing from the mirror, or in it but not seen by a complete walk, up to this many are looked up
# one by one (GET /assets/{id}); more are handled wholesale (a walk with EXIF; deletion, which the next
# sync's counts correct if a row only slipped).
LOOKUP_LIMIT = 100


def _upsert_items(ctx: SyncContext, items: list[dict[str, Any]]) -> None:
    with ctx.engine.begin() as conn:
        rows = [asset_row(item, dump(item), ctx.run_id) for item in items]
        if rows:
            conn.exec_driver_sql(UPSERT_SQL, rows)


def _look_up(ctx: SyncContext, ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """(the owner's assets the server still has, the ids it has not) of ``ids``."""
    found, gone = [], []
    for asset_id in ids:
        try:
            item = ctx.client.get_asset(asset_id)
        except NotFound:
            gone.append(asset_id)
            continue
        if ctx.keeps(item.get("ownerId")) and item.get("visibility") != "locked":
            found.append(item)
        else:
            gone.append(asset_id)
    return found, gone


def _fill_exif(ctx: SyncContext) -> None:
    """Read in full the rows an id walk inserted without EXIF."""
    missing = sorted(ctx.without_exif)
    ctx.without_exif.clear()
    if not missing:
        return
    if len(missing) > LOOKUP_LIMIT:
        _walk(ctx, None, with_exif=True, reconcile=False)
        return
    found, gone = _look_up(ctx, missing)
    _upsert_items(ctx, found)
    _delete(ctx, gone)


def _delete(ctx: SyncContext, ids: list[str]) -> None:
    if not ids:
        return
    with ctx.engine.begin() as conn:
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            marks = _in_clause(len(chunk))
            conn.exec_driver_sql(f"DELETE FROM album_assets WHERE asset_id IN ({marks})", tuple(chunk))
            conn.exec_driver_sql(f"DELETE FROM asset_tags WHERE asset_id IN ({marks})", tuple(chunk))
            conn.exec_driver_sql(f"DELETE FROM asset_people WHERE asset_id IN ({marks})", tuple(chunk))
            ctx.stats.assets.removed += conn.exec_driver_sql(
                f"DELETE FROM assets WHERE id IN ({marks})", tuple(chunk)
            ).rowcount


def _delete_unseen(ctx: SyncContext) -> None:
    """Remove the owner's assets that the complete walk just done did not return: purged on the server.

    A few are looked up first: a row that slipped between this walk's pages is alive and stays."""
    owner_clause = "" if ctx.include_partners else "AND owner_id = :owner"
    with ctx.engine.connect() as conn:
        unseen = list(
            conn.execute(
                text(f"SELECT id FROM assets WHERE (synced_run IS NULL OR synced_run != :run) {owner_clause}"),
                {"run": ctx.run_id, "owner": ctx.owner_id},
            ).scalars()
        )
    if len(unseen) <= LOOKUP_LIMIT:
        alive, unseen = _look_up(ctx, unseen)
        _upsert_items(ctx, alive)
    _delete(ctx, unseen)


# (server query, mirror condition): together they cover every asset a walk can lose or a purge can take
# away. Timeline and archive apart: on 2.x each is its own walk, so archiving an asset shifts one of
# them (3.x walks them together, where the split costs nothing). The trash matters most for purges:
# emptying it purges assets that were never in the live counts.
_COUNTS: tuple[tuple[dict[str, Any], str], ...] = (
    ({"visibility": "timeline"}, "is_trashed = 0 AND visibility = 'timeline'"),
    ({"visibility": "archive"}, "is_trashed = 0 AND visibility = 'archive'"),
    ({"visibility": "hidden"}, "is_trashed = 0 AND visibility = 'hidden'"),
    ({"trashed": True}, "is_trashed = 1 AND visibility IN ('timeline', 'archive')"),
    ({"trashed": True, "visibility": "hidden"}, "is_trashed = 1 AND visibility = 'hidden'"),
)

# Id walks after the main walk before leaving the rest to the next sync (the server kept changing).
MAX_RECONCILES = 3


def _server_counts(ctx: SyncContext) -> list[int]:
    return [int(ctx.client.asset_statistics(**query).get("total", -1)) for query, _ in _COUNTS]


def _mirror_counts(ctx: SyncContext) -> list[int]:
    with ctx.engine.connect() as conn:
        return [
            int(
                conn.execute(
                    text(f"SELECT COUNT(*) FROM assets WHERE owner_id = :o AND {condition}"), {"o": ctx.owner_id}
                ).scalar()
                or 0
            )
            for _, condition in _COUNTS
        ]


def updated_after(ctx: SyncContext) -> datetime | None:
    """Where this run's walks start: None (everything) on --full or before the first complete walk."""
    with ctx.engine.connect() as conn:
        mark = get_state(conn, WATERMARK_KEY)
    return None if (ctx.full or mark is None) else parse_ts(mark) - OVERLAP


def sync_assets(ctx: SyncContext, since: datetime | None, server_now: datetime) -> None:
    with ctx.engine.connect() as conn:
        ctx.mirror_was_empty = conn.exec_driver_sql("SELECT 1 FROM assets LIMIT 1").first() is None
    before = _server_counts(ctx)
    # A walk of everything should see what the counts say; an incremental one cannot know in advance.
    seen = _walk(ctx, since, with_exif=True, reconcile=False, total=sum(before) if since is None else None)
    if since is None:
        _delete_unseen(ctx)
        ctx.stats.reconciled = True
    for _ in range(MAX_RECONCILES):
        after = _server_counts(ctx)
        if after == before and after == _mirror_counts(ctx):
            break
        # The server changed during the walk, or the mirror lacks or keeps rows: ids only, no EXIF,
        # known rows are stamped, not rewritten. The stamps of the walk before go first, or a row that
        # walk saw and the server purged since would count as seen.
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE assets SET synced_run = NULL WHERE synced_run = ?", (ctx.run_id,))
        seen = _walk(ctx, None, with_exif=False, reconcile=True, total=sum(after))
        _fill_exif(ctx)
        _delete_unseen(ctx)
        ctx.stats.reconciled = True
        before = after
    with ctx.engine.begin() as conn:
        set_state(conn, WATERMARK_KEY, iso_utc(server_now.isoformat()))
    ctx.progress("assets", seen, seen)
