"""Album endpoints, with the list semantics that differ between v2 and v3 (V3-DIFFERENCES.md)."""

from __future__ import annotations

from immich_mirror.fake import serialize as ser
from immich_mirror.fake.http_errors import not_found
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Reply, Route
from immich_mirror.fake.state import FakeAlbum


def _is_shared(ctx: Ctx, album: FakeAlbum) -> bool:
    return bool(album.shared_with) or any(link.album_id == album.id for link in ctx.lib.shared_links.values())


def list_albums(ctx: Ctx) -> Reply:
    me = ctx.user.id
    albums = [a for a in ctx.lib.albums.values() if a.owner_id == me or me in a.shared_with]
    asset_id = ctx.query.get("assetId")
    if asset_id:
        # "albums containing this asset" ignores the other filters on v3 (API-NOTES 1c).
        albums = [a for a in albums if asset_id in a.members]
    elif ctx.v2:
        shared = ctx.query_bool("shared")
        if shared is True:
            albums = [a for a in albums if _is_shared(ctx, a)]
        elif shared is False:
            albums = [a for a in albums if a.owner_id == me and not _is_shared(ctx, a)]
        else:
            albums = [a for a in albums if a.owner_id == me]
        # `isOwned` does not exist on v2: ignored (recorded).
    else:
        owned = ctx.query_bool("isOwned")
        shared_flag = ctx.query_bool("isShared")
        if owned is not None:
            albums = [a for a in albums if (a.owner_id == me) == owned]
        if shared_flag is not None:
            albums = [a for a in albums if bool(a.shared_with) == shared_flag]
        if "name" in ctx.query:
            albums = [a for a in albums if a.name == ctx.query["name"]]
        if "id" in ctx.query:
            albums = [a for a in albums if a.id == ctx.query["id"]]
    albums.sort(key=lambda a: a.created_at, reverse=True)
    return 200, [ser.album(ctx.lib, a, ctx.version, view="list") for a in albums]


def album_statistics(ctx: Ctx) -> Reply:
    me = ctx.user.id
    owned = [a for a in ctx.lib.albums.values() if a.owner_id == me]
    shared = [a for a in ctx.lib.albums.values() if me in a.shared_with]
    return 200, {"owned": len(owned), "shared": len(shared),
                 "notShared": sum(1 for a in owned if not _is_shared(ctx, a))}


def get_album(ctx: Ctx) -> Reply:
    album = ctx.album_for(ctx.path_id(), "album.read")
    with_assets = ctx.query_bool("withoutAssets") is not True
    return 200, ser.album(ctx.lib, album, ctx.version, view="get", with_assets=with_assets)


def create_album(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    name = check.string(body, "albumName", required=True)
    description = check.string(body, "description") or ""
    asset_ids = check.uuids(body, "assetIds", required=False)
    users = body.get("albumUsers") or []
    check.done()
    readable = [a for a in asset_ids if a in ctx.lib.assets and ctx.can_read_asset(ctx.lib.assets[a])]
    album = ctx.lib.create_album(name or "", readable, owner_id=ctx.user.id, description=description)
    for entry in users if isinstance(users, list) else []:
        if isinstance(entry, dict) and entry.get("userId") in ctx.lib.users:
            ctx.lib.share_album(album.id, str(entry["userId"]), str(entry.get("role", "editor")))
    return 201, ser.album(ctx.lib, album, ctx.version, view="write", with_assets=True)


def update_album(ctx: Ctx) -> Reply:
    album_id = ctx.path_id()
    body = ctx.json_body()
    check = ctx.check()
    name = check.string(body, "albumName")
    description = check.string(body, "description")
    thumbnail = check.uuid(body, "albumThumbnailAssetId", required=False)
    activity = check.boolean(body, "isActivityEnabled")
    order = check.choice(body, "order", ("asc", "desc"))
    check.done()
    album = ctx.album_for(album_id, "album.update")
    if album.owner_id != ctx.user.id:
        raise not_found("album.update")
    with ctx.lib.lock:
        if name is not None:
            ctx.lib.rename_album(album.id, name)
        if description is not None:
            album.description = description
        if thumbnail is not None:
            album.thumbnail_asset_id = thumbnail
        if activity is not None:
            album.is_activity_enabled = activity
        if order is not None:
            album.order = order
        album.updated_at = ctx.lib.clock.tick()
        ctx.lib.revision += 1
    return 200, ser.album(ctx.lib, album, ctx.version, view="write")


def delete_album(ctx: Ctx) -> Reply:
    album_id = ctx.path_id()
    album = ctx.lib.albums.get(album_id)
    if album is None or album.owner_id != ctx.user.id:
        raise not_found("album.delete")
    ctx.lib.delete_album(album_id)
    return 204, NO_CONTENT


def add_assets(ctx: Ctx) -> Reply:
    album_id = ctx.path_id()
    ids = ctx.body_ids()
    album = ctx.album_for(album_id, "albumAsset.create", write=True)
    # Assets the caller may not share count as unknown: "no_permission" (recorded).
    allowed = [i for i in ids if i in ctx.lib.assets and ctx.can_read_asset(ctx.lib.assets[i])]
    results = dict(ctx.lib.add_to_album(album.id, allowed))
    merged = [(i, results.get(i, "no_permission")) for i in ids]
    return 200, ser.bulk_results(_dedupe(merged))


def _dedupe(results: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    seen: set[str] = set()
    out = []
    for aid, err in results:
        out.append((aid, "duplicate" if aid in seen and err is None else err))
        seen.add(aid)
    return out


def remove_assets(ctx: Ctx) -> Reply:
    album_id = ctx.path_id()
    ids = ctx.body_ids()
    album = ctx.album_for(album_id, "albumAsset.delete", write=True)
    return 200, ser.bulk_results(ctx.lib.remove_from_album(album.id, ids))


def add_assets_to_albums(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    album_ids = check.uuids(body, "albumIds")
    asset_ids = check.uuids(body, "assetIds")
    check.done()
    allowed = [i for i in asset_ids if i in ctx.lib.assets and ctx.can_read_asset(ctx.lib.assets[i])]
    errors: list[str | None] = []
    for album_id in album_ids:
        album = ctx.lib.albums.get(album_id)
        writable = album is not None and (
            album.owner_id == ctx.user.id or album.shared_with.get(ctx.user.id) == "editor"
        )
        if not writable:
            errors.append("no_permission")
            continue
        errors += [err for _, err in ctx.lib.add_to_album(album_id, allowed)] or ["no_permission"]
    if any(err is None for err in errors):
        return 200, {"success": True}
    error = "duplicate" if errors and all(e == "duplicate" for e in errors) else "no_permission"
    return 200, {"success": False, "error": error}


ROUTES = [
    Route("GET", "albums", list_albums, "album.read"),
    Route("POST", "albums", create_album, "album.create"),
    Route("GET", "albums/statistics", album_statistics, "album.statistics"),
    Route("PUT", "albums/assets", add_assets_to_albums, "albumAsset.create"),
    Route("GET", "albums/{id}", get_album, "album.read"),
    Route("PATCH", "albums/{id}", update_album, "album.update"),
    Route("DELETE", "albums/{id}", delete_album, "album.delete"),
    Route("PUT", "albums/{id}/assets", add_assets, "albumAsset.create"),
    Route("DELETE", "albums/{id}/assets", remove_assets, "albumAsset.delete"),
]
