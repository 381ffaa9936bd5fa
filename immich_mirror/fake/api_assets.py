"""Asset endpoints: search, statistics, one asset, bulk updates, trash and duplicates."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from immich_mirror.fake import serialize as ser
from immich_mirror.fake.http_errors import Check, not_found
from immich_mirror.fake.images import asset_thumbnail
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Reply, Route
from immich_mirror.fake.state import VISIBILITIES, FakeAsset, offset_label

_HAS_OFFSET = re.compile(r"(Z|z|[+-]\d{2}:?\d{2})$")
_RELATIVE_WORDS = {"yesterday": -1, "today": 0, "tomorrow": 1}


def search_metadata(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    result = ctx.engine.search(ctx.user.id, body)
    with_exif = bool(body.get("withExif"))
    items = [ser.asset(ctx.lib, a, ctx.version, with_exif=with_exif) for a in result.assets]
    cursor_key = ctx.version >= "3.2"
    return 200, ser.search_page(items, result.next_page, ctx.version, result.next_cursor, cursor_key)


def search_statistics(ctx: Ctx) -> Reply:
    return 200, {"total": ctx.engine.count(ctx.user.id, ctx.json_body())}


def asset_statistics(ctx: Ctx) -> Reply:
    """The caller's own assets; without `visibility`, timeline + archive (hidden and trash excluded)."""
    visibility = ctx.query.get("visibility")
    favorite = ctx.query_bool("isFavorite")
    trashed = ctx.query_bool("isTrashed") or False
    allowed = (visibility,) if visibility else ("timeline", "archive")
    rows = [
        a for a in ctx.lib.assets.values()
        if a.owner_id == ctx.user.id and a.visibility in allowed and a.is_trashed == trashed
        and (favorite is None or a.is_favorite == favorite)
    ]
    images = sum(1 for a in rows if a.type == "IMAGE")
    videos = sum(1 for a in rows if a.type == "VIDEO")
    return 200, {"images": images, "videos": videos, "total": len(rows)}


def get_asset(ctx: Ctx) -> Reply:
    asset = ctx.asset_for(ctx.path_id(), "asset.read")
    return 200, ser.asset(ctx.lib, asset, ctx.version, with_exif=True, with_tags=True, with_owner=True,
                          with_stack=True, with_unassigned=True)


def _date_value(ctx: Ctx, check: Check, body: dict[str, Any]) -> tuple[datetime | None, str | None]:
    """`dateTimeOriginal` as (instant, Immich time-zone label if the text carried an offset)."""
    raw = body.get("dateTimeOriginal")
    if raw is None:
        return None, None
    if isinstance(raw, str) and not ctx.v2 and raw.strip().lower() in _RELATIVE_WORDS:
        # v3 parses loosely: "yesterday" is stored as midnight of the previous day (recorded).
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return day + timedelta(days=_RELATIVE_WORDS[raw.strip().lower()]), None
    value = check.date(body, "dateTimeOriginal")
    if value is None:
        return None, None
    label = offset_label(value.utcoffset() or timedelta(0)) if _HAS_OFFSET.search(str(raw)) else None
    return value.astimezone(UTC), label


def _simple_updates(ctx: Ctx, check: Check, body: dict[str, Any]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    favorite = check.boolean(body, "isFavorite")
    if favorite is not None:
        updates["is_favorite"] = favorite
    visibility = check.choice(body, "visibility", VISIBILITIES)
    if visibility is not None:
        updates["visibility"] = visibility
    description = check.string(body, "description")
    if description is not None:
        updates["description"] = description
    if "rating" in body:
        rating = check.integer(body, "rating", low=-1 if not ctx.v2 else 0, high=5)
        updates["rating"] = rating or None
    for key, attr in (("latitude", "latitude"), ("longitude", "longitude")):
        if isinstance(body.get(key), int | float):
            updates[attr] = float(body[key])
    return updates


def _apply(ctx: Ctx, assets: list[FakeAsset], updates: dict[str, Any]) -> None:
    lib = ctx.lib
    ids = [a.id for a in assets]
    if "visibility" in updates:
        lib.set_visibility(ids, updates.pop("visibility"))
    if "is_favorite" in updates:
        lib.set_favorite(ids, updates.pop("is_favorite"))
    if "duplicate_id" in updates:
        lib.set_duplicate(ids, updates.pop("duplicate_id"))
    if updates:
        lib.update_exif(ids, **updates)


def put_asset(ctx: Ctx) -> Reply:
    asset_id = ctx.path_id()
    body = ctx.json_body()
    check = ctx.check()
    when, label = _date_value(ctx, check, body)
    updates = _simple_updates(ctx, check, body)
    check.done()
    asset = ctx.asset_for(asset_id, "asset.update")
    _apply(ctx, [asset], updates)
    if when is not None:
        ctx.lib.set_date([asset.id], date_time_original=when, time_zone=label)
    return 200, ser.asset(ctx.lib, asset, ctx.version, with_exif=True, with_unassigned=True)


def put_assets(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    ids = check.uuids(body, "ids")
    when, label = _date_value(ctx, check, body)
    relative = check.integer(body, "dateTimeRelative")
    time_zone = check.string(body, "timeZone")
    if "dateTimeRelative" in body and "dateTimeOriginal" in body:
        check.add("dateTimeRelative cannot exist alongside any of the following properties: dateTimeOriginal",
                  {"code": "custom", "path": [],
                   "message": "dateTimeRelative cannot exist alongside dateTimeOriginal"})
    updates = _simple_updates(ctx, check, body)
    if "duplicateId" in body:
        # Any string is accepted (a v5 UUID too, recorded), null clears the group.
        updates["duplicate_id"] = body["duplicateId"]
    check.done()
    assets = ctx.owned_assets(ids, "asset.update")
    _apply(ctx, assets, updates)
    if when is not None or relative or time_zone:
        ctx.lib.set_date(
            ids, date_time_original=when, time_zone=time_zone or label, relative_minutes=relative
        )
    return 204, NO_CONTENT


def delete_assets(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    ids = check.uuids(body, "ids")
    force = check.boolean(body, "force")
    check.done()
    ctx.owned_assets(ids, "asset.delete")
    if force:
        ctx.lib.purge(ids)
    else:
        ctx.lib.trash(ids)
    return 204, NO_CONTENT


def restore_assets(ctx: Ctx) -> Reply:
    ids = ctx.body_ids()
    ctx.owned_assets(ids, "asset.delete")
    return 200, {"count": ctx.lib.restore(ids)}


def duplicates(ctx: Ctx) -> Reply:
    """Groups of 2+ of the caller's timeline/archive, non-trashed, unstacked assets."""
    groups: dict[str, list[FakeAsset]] = {}
    for a in ctx.lib.assets.values():
        if (a.duplicate_id and a.owner_id == ctx.user.id and not a.is_trashed and a.stack_id is None
                and a.visibility in ("timeline", "archive")):
            groups.setdefault(a.duplicate_id, []).append(a)
    out = []
    for dup_id in sorted(groups):
        members = sorted(groups[dup_id], key=lambda a: a.file_created_at)
        if len(members) < 2:
            continue
        keep = max(members, key=lambda a: (a.file_size_in_byte, a.id))
        out.append({
            "duplicateId": dup_id,
            "assets": [ser.asset(ctx.lib, a, ctx.version, with_exif=True, with_tags=True, pg=True)
                       for a in members],
            "suggestedKeepAssetIds": [keep.id],
        })
    return 200, out


_THUMB_SIZES = ("thumbnail", "preview", "fullsize")


def view_asset(ctx: Ctx) -> Reply:
    """`GET /assets/{id}/thumbnail`: a generated image of the recorded type and headers (webp)."""
    asset_id = ctx.path_id()
    asset = ctx.lib.assets.get(asset_id)
    if asset is None or not ctx.can_read_asset(asset):
        raise not_found("asset.view")
    size = ctx.query.get("size", "thumbnail")
    if size not in _THUMB_SIZES:
        check = ctx.check()
        check.choice({"size": size}, "size", _THUMB_SIZES)
        check.done()
    body = asset_thumbnail(asset.id, asset.width, asset.height)
    stem = (asset.original_file_name or asset.id).rsplit(".", 1)[0]
    headers = {
        "Cache-Control": "private, max-age=86400, no-transform, stale-while-revalidate=2592000, "
        "stale-if-error=2592000",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(stem)}_{size}.webp",
        "ETag": f'W/"{len(body):x}-{hashlib.sha1(asset.id.encode()).hexdigest()[:11]}"',
    }
    return 200, ("binary", body, "image/webp", headers)


def _dismiss(ctx: Ctx, dup_ids: list[str]) -> None:
    ids = [a.id for a in ctx.lib.assets.values() if a.owner_id == ctx.user.id and a.duplicate_id in dup_ids]
    ctx.lib.set_duplicate(ids, None)


def delete_duplicate(ctx: Ctx) -> Reply:
    _dismiss(ctx, [ctx.path_id()])
    return 204, NO_CONTENT


def delete_duplicates(ctx: Ctx) -> Reply:
    _dismiss(ctx, ctx.body_ids())
    return 204, NO_CONTENT


ROUTES = [
    Route("POST", "search/metadata", search_metadata, "asset.read"),
    Route("POST", "search/statistics", search_statistics, "asset.statistics"),
    Route("GET", "assets/statistics", asset_statistics, "asset.statistics"),
    Route("PUT", "assets", put_assets, "asset.update"),
    Route("DELETE", "assets", delete_assets, "asset.delete"),
    Route("GET", "assets/{id}", get_asset, "asset.read"),
    Route("GET", "assets/{id}/thumbnail", view_asset, "asset.view"),
    Route("PUT", "assets/{id}", put_asset, "asset.update"),
    Route("POST", "trash/restore/assets", restore_assets, "asset.delete"),
    Route("GET", "duplicates", duplicates, "duplicate.read"),
    Route("DELETE", "duplicates", delete_duplicates, "duplicate.delete"),
    Route("DELETE", "duplicates/{id}", delete_duplicate, "duplicate.delete"),
]
