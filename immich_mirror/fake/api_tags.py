"""Tag endpoints. Tags are per user and keyed by `value` (the full path), never by `name`."""

from __future__ import annotations

from immich_mirror.fake import serialize as ser
from immich_mirror.fake.http_errors import ApiFailure
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Reply, Route


def list_tags(ctx: Ctx) -> Reply:
    tags = sorted((t for t in ctx.lib.tags.values() if t.user_id == ctx.user.id), key=lambda t: t.value)
    return 200, [ser.tag(t) for t in tags]


def create_tag(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    name = check.string(body, "name", required=True)
    parent_id = check.uuid(body, "parentId", required=False)
    color = check.string(body, "color")
    check.done()
    prefix = ""
    if parent_id:
        prefix = ctx.tag_for(parent_id, "tag.read").value + "/"
    value = prefix + (name or "")
    if ctx.lib.tag_by_value(value, ctx.user.id) is not None:
        raise ApiFailure(400, "A tag with that name already exists")
    tag = ctx.lib.create_tag(value, owner_id=ctx.user.id, color=color)
    return 201, ser.tag(tag)


def upsert_tags(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    values = body.get("tags")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        check = ctx.check()
        check.missing_type("tags", "array", values, "each value in tags must be a string")
        check.done()
        return 400, None
    out = []
    with ctx.lib.lock:
        for value in values:
            existing = ctx.lib.tag_by_value(value.strip("/"), ctx.user.id)
            tag = ctx.lib.create_tag(value, owner_id=ctx.user.id)
            if existing is not None:
                # A re-upsert still writes the row: its updatedAt moves (recorded).
                tag.updated_at = ctx.lib.clock.tick()
            out.append(ser.tag(tag))
    return 200, out


def bulk_tag_assets(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    tag_ids = check.uuids(body, "tagIds")
    asset_ids = check.uuids(body, "assetIds")
    check.done()
    # Ids the caller cannot use are dropped silently (API-NOTES 1d).
    tags = [t for t in tag_ids if t in ctx.lib.tags and ctx.lib.tags[t].user_id == ctx.user.id]
    assets = [a for a in asset_ids if a in ctx.lib.assets and ctx.lib.assets[a].owner_id == ctx.user.id]
    return 200, {"count": ctx.lib.tag_assets(tags, assets)}


def get_tag(ctx: Ctx) -> Reply:
    return 200, ser.tag(ctx.tag_for(ctx.path_id(), "tag.read"))


def update_tag(ctx: Ctx) -> Reply:
    tag_id = ctx.path_id()
    body = ctx.json_body()
    check = ctx.check()
    color = check.string(body, "color")
    check.done()
    tag = ctx.tag_for(tag_id, "tag.update")
    return 200, ser.tag(ctx.lib.update_tag(tag.id, color=color))


def delete_tag(ctx: Ctx) -> Reply:
    tag = ctx.tag_for(ctx.path_id(), "tag.delete")
    ctx.lib.delete_tag(tag.id)
    return 204, NO_CONTENT


def _ids(ctx: Ctx) -> list[str]:
    body = ctx.json_body()
    check = ctx.check()
    ids = check.uuids(body, "ids")
    check.done()
    return ids


def tag_assets(ctx: Ctx) -> Reply:
    tag_id = ctx.path_id()
    ids = _ids(ctx)
    tag = ctx.tag_for(tag_id, "tag.asset")
    results: list[tuple[str, str | None]] = []
    with ctx.lib.lock:
        members = ctx.lib.tag_members[tag.id]
        for aid in ids:
            asset = ctx.lib.assets.get(aid)
            if aid in members:
                results.append((aid, "duplicate"))
            elif asset is None or asset.owner_id != ctx.user.id:
                results.append((aid, "no_permission"))
            else:
                results.append((aid, None))
        ctx.lib.tag_assets([tag.id], [aid for aid, err in results if err is None])
    return 200, ser.bulk_results(results)


def untag_assets(ctx: Ctx) -> Reply:
    tag_id = ctx.path_id()
    ids = _ids(ctx)
    tag = ctx.tag_for(tag_id, "tag.asset")
    results: list[tuple[str, str | None]] = []
    with ctx.lib.lock:
        members = ctx.lib.tag_members[tag.id]
        for aid in ids:
            asset = ctx.lib.assets.get(aid)
            if asset is not None and asset.owner_id != ctx.user.id:
                results.append((aid, "no_permission"))
            elif aid not in members:
                results.append((aid, "not_found"))
            else:
                results.append((aid, None))
        ctx.lib.untag_assets([tag.id], [aid for aid, err in results if err is None])
    return 200, ser.bulk_results(results)


ROUTES = [
    Route("GET", "tags", list_tags, "tag.read"),
    Route("POST", "tags", create_tag, "tag.create"),
    Route("PUT", "tags", upsert_tags, "tag.create"),
    Route("PUT", "tags/assets", bulk_tag_assets, "tag.asset"),
    Route("GET", "tags/{id}", get_tag, "tag.read"),
    Route("PUT", "tags/{id}", update_tag, "tag.update"),
    Route("DELETE", "tags/{id}", delete_tag, "tag.delete"),
    Route("PUT", "tags/{id}/assets", tag_assets, "tag.asset"),
    Route("DELETE", "tags/{id}/assets", untag_assets, "tag.asset"),
]
