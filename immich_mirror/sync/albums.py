"""The album pass: the album list every run, members only for albums whose server state moved.

Album membership never reaches an asset's ``updatedAt`` (API-NOTES 0b). What does move is the album's
``(updatedAt, assetCount, lastModifiedAssetTimestamp)``: an addition bumps all three, a removal at least
``assetCount``. The mirror stores that triple in ``albums.members_key`` when it lists an album's
members, and lists them again only when the server's triple differs. A removal that leaves every
part of the triple unchanged is not visible this way; ``--full`` re-lists every album.

Two changes stamped in the same millisecond (Postgres stamps a transaction's rows with its start time)
can leave the triple the mirror saw in place, so an album stamped inside the asset walk's overlap window
(``since``) is listed again too: the same window that protects the asset walk protects the members.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from immich_mirror.api.models import Album
from immich_mirror.sync.context import SyncContext
from immich_mirror.sync.rows import album_members_key, album_row

_ALBUM_COLUMNS = (
    "id, name, description, owner_id, asset_count, created_at, updated_at, start_date, end_date, "
    "last_modified_asset_timestamp, shared, is_owned, raw"
)
_UPSERT = text(
    f"INSERT INTO albums ({_ALBUM_COLUMNS}) VALUES (:id, :name, :description, :owner_id, :asset_count, "
    ":created_at, :updated_at, :start_date, :end_date, :last_modified_asset_timestamp, :shared, :is_owned, "
    ":raw) ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = excluded.description, "
    "owner_id = excluded.owner_id, asset_count = excluded.asset_count, updated_at = excluded.updated_at, "
    "start_date = excluded.start_date, end_date = excluded.end_date, "
    "last_modified_asset_timestamp = excluded.last_modified_asset_timestamp, shared = excluded.shared, "
    "is_owned = excluded.is_owned, raw = excluded.raw"
)


def _list_members(ctx: SyncContext, album_id: str) -> set[str]:
    members: set[str] = set()
    for items in ctx.client.search_assets(
        visibility=None, with_deleted=True, album_ids=[album_id], with_exif=False, size=1000
    ):
        members.update(item["id"] for item in items)
    return members


def sync_album_members(ctx: SyncContext, album: Album) -> None:
    """List one album's members and make ``album_assets`` equal to them, in one transaction."""
    members = _list_members(ctx, album.id)
    with ctx.engine.begin() as conn:
        current = {
            r[0]
            for r in conn.execute(
                text("SELECT asset_id FROM album_assets WHERE album_id = :a"), {"a": album.id}
            )
        }
        added = members - current
        removed = current - members
        if removed:
            conn.exec_driver_sql(
                "DELETE FROM album_assets WHERE album_id = ? AND asset_id = ?",
                [(album.id, a) for a in removed],
            )
        if added:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO album_assets(album_id, asset_id) VALUES (?, ?)",
                [(album.id, a) for a in added],
            )
        conn.execute(
            text("UPDATE albums SET members_key = :k WHERE id = :a"),
            {"k": album_members_key(album), "a": album.id},
        )
    ctx.stats.album_links.added += len(added)
    ctx.stats.album_links.removed += len(removed)


def _recent(album: Album, since: datetime | None) -> bool:
    """Stamped at or after `since`: a later change may share the stamp the mirror already saw."""
    if since is None:
        return True
    stamps = (album.updated_at, album.last_modified_asset_timestamp)
    return any(s is not None and s >= since for s in stamps)


def sync_albums(ctx: SyncContext, since: datetime | None) -> None:
    owned = ctx.client.list_albums()
    shared = ctx.client.list_albums(shared_with_me=True)
    server: dict[str, tuple[Album, bool]] = {a.id: (a, True) for a in owned}
    for album in shared:
        server.setdefault(album.id, (album, False))
    with ctx.engine.begin() as conn:
        known = {r[0]: (r[1], r[2]) for r in conn.execute(text("SELECT id, raw, members_key FROM albums"))}
        gone = set(known) - set(server)
        for album_id in gone:
            conn.execute(text("DELETE FROM albums WHERE id = :a"), {"a": album_id})  # cascades album_assets
        ctx.stats.albums.removed += len(gone)
        for album_id, (album, is_owned) in server.items():
            row = album_row(album, is_owned)
            if album_id not in known:
                ctx.stats.albums.added += 1
            elif known[album_id][0] != row["raw"]:
                ctx.stats.albums.changed += 1
            else:
                continue
            conn.execute(_UPSERT, row)
    stale = [
        album
        for album_id, (album, _) in server.items()
        if album_id not in known or known[album_id][1] != album_members_key(album) or _recent(album, since)
    ]
    for done, album in enumerate(stale, 1):
        sync_album_members(ctx, album)
        ctx.progress("albums", done, len(stale))
