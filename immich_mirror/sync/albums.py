"""The album pass: the album list every run, members only for albums whose membership can have moved.

Album membership never reaches an asset's ``updatedAt`` (API-NOTES 0b). What the album list shows is
``(updatedAt, assetCount, lastModifiedAssetTimestamp)``, and each part moves for its own reason
(recording ``albums_list_triple_steps.json``, the same on 2.7.5 and 3.1.0; server
``album.repository.ts`` getMetadataForIds):

- ``updatedAt`` moves at once on every **addition** (and on a rename), never on a removal;
- ``assetCount`` counts the members that are not trashed and are timeline or archive: it moves on
  additions and removals of such members, and when a member is trashed, restored, hidden or locked;
- ``lastModifiedAssetTimestamp`` is the newest ``updatedAt`` among those same members: any change to a
  member moves it (the tool's own tag writes included, once Immich's jobs ran), and so does a member
  that leaves or comes back while being the newest.

So the mirror predicts the last two from what it already has after the asset pass: its own links for
the album and the assets' current rows (trashed or not, visibility, ``updatedAt``). The members are
listed again only when

1. the album is new, or was never listed; or
2. its ``updatedAt`` moved, or lies inside the asset walk's overlap window (``since``: two changes
   stamped in one millisecond, as Postgres stamps a transaction's rows with its start time, would leave
   the stamp the mirror saw in place); or
3. the server's ``(assetCount, lastModifiedAssetTimestamp)`` differs from the mirror's prediction.

Why that misses no membership change: with ``updatedAt`` unmoved (and outside the window) nothing was
added since the last listing, so the server's members ``S`` are a subset of the mirror's links ``M``.
The server counts the counted members of ``S``, the prediction those of ``M``, both judged by the same
current asset rows: the counts agree only if every link that went away was to an asset Immich does not
count (trashed, hidden, locked). A removal hidden by a simultaneous addition moves ``updatedAt``; one
hidden by a restore from the trash, a member leaving the archive-or-timeline set the other way, or any
other change to a counted member moves that asset's row, which the asset pass reads (or, if that change
came after the asset pass, moves ``lastModifiedAssetTimestamp`` past what the mirror predicts; a change
stamped inside the window is read again by the next asset pass, whose prediction then differs). What is
left unseen is a link to an asset Immich does not count (a trashed member taken out of the album): it
cannot matter until the asset is counted again, and restoring it moves the count against the
prediction. ``--full`` re-lists every album.

The prediction needs every member's row. An album holding assets the mirror does not keep (another
user's, in an album shared with the key's owner), or whose prediction did not hold even right after its
members were listed, falls back to comparing the whole triple with the one stored at the last listing,
and to the overlap window on its timestamp too. ``albums.members_key`` holds that triple and, after
``|p``, whether the prediction held at the listing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from immich_mirror.api.models import Album
from immich_mirror.sync.context import SyncContext
from immich_mirror.sync.rows import album_members_key, album_row, iso_utc, ts

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


# What Immich counts in an album (getMetadataForIds: deletedAt IS NULL, withDefaultVisibility).
_COUNTED = "a.is_trashed = 0 AND a.visibility IN ('timeline', 'archive')"
_PREDICT = (
    "SELECT aa.album_id, COUNT(*), COUNT(a.id), "
    f"COALESCE(SUM(CASE WHEN {_COUNTED} THEN 1 ELSE 0 END), 0), "
    f"MAX(CASE WHEN {_COUNTED} THEN a.updated_at END) "
    "FROM album_assets aa LEFT JOIN assets a ON a.id = aa.asset_id"
)
PREDICTABLE = "|p"


def predictions(conn: Connection, album_ids: list[str] | None = None) -> dict[str, tuple[int, str | None] | None]:
    """album id -> the ``(assetCount, lastModifiedAssetTimestamp)`` the mirror predicts for it, or None
    when a linked asset is not in the mirror (another user's). Albums without links are left out:
    their prediction is ``(0, None)``."""
    out: dict[str, tuple[int, str | None] | None] = {}
    chunks = [None] if album_ids is None else [album_ids[i : i + 500] for i in range(0, len(album_ids), 500)]
    for chunk in chunks:
        if chunk is None:
            rows = conn.exec_driver_sql(f"{_PREDICT} GROUP BY aa.album_id").all()
        elif not chunk:
            continue
        else:
            marks = ", ".join("?" for _ in chunk)
            rows = conn.exec_driver_sql(
                f"{_PREDICT} WHERE aa.album_id IN ({marks}) GROUP BY aa.album_id", tuple(chunk)
            ).all()
        for album_id, links, known, counted, newest in rows:
            out[album_id] = (int(counted), iso_utc(newest)) if links == known else None
    return out


def _server_pair(album: Album) -> tuple[int, str | None]:
    return album.asset_count, ts(album.last_modified_asset_timestamp) if album.asset_count else None


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
        # Does the prediction hold now that the links are the server's? If not (assets the mirror does
        # not keep, or rows that moved since the album list was read), the album falls back to its triple.
        predicted = predictions(conn, [album.id]).get(album.id, (0, None))
        key = album_members_key(album) + (PREDICTABLE if predicted == _server_pair(album) else "")
        conn.execute(text("UPDATE albums SET members_key = :k WHERE id = :a"), {"k": key, "a": album.id})
    ctx.stats.album_links.added += len(added)
    ctx.stats.album_links.removed += len(removed)


def _at_or_after(stamp: datetime | None, since: datetime | None) -> bool:
    """Stamped at or after `since`: a later change may share the stamp the mirror already saw."""
    return since is None or (stamp is not None and stamp >= since)


def must_list(
    album: Album,
    members_key: str | None,
    predicted: tuple[int, str | None] | None,
    since: datetime | None,
) -> bool:
    """Whether the album's membership can have changed since the mirror listed it (module docstring)."""
    if members_key is None:
        return True
    triple = album_members_key(album)
    stored_updated = members_key.split("|", 1)[0]
    if stored_updated != triple.split("|", 1)[0] or _at_or_after(album.updated_at, since):
        return True
    if members_key.endswith(PREDICTABLE) and predicted is not None:
        return predicted != _server_pair(album)
    return members_key.removesuffix(PREDICTABLE) != triple or _at_or_after(album.last_modified_asset_timestamp, since)


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
            # Its links go with it (the delete cascades): count them, or the summary hides them.
            links = conn.execute(text("SELECT COUNT(*) FROM album_assets WHERE album_id = :a"), {"a": album_id})
            ctx.stats.album_links.removed += int(links.scalar_one())
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
    with ctx.engine.connect() as conn:
        predicted = predictions(conn)
    stale = [
        album
        for album_id, (album, _) in server.items()
        if album_id not in known or must_list(album, known[album_id][1], predicted.get(album_id, (0, None)), since)
    ]
    ctx.progress("albums", 0, len(stale))
    for done, album in enumerate(stale, 1):
        sync_album_members(ctx, album)
        ctx.progress("albums", done, len(stale))
