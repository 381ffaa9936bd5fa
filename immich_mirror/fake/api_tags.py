"""Tag endpoints. Tags are per user and keyed by `value` (the full path), never by `name`."""

from __future__ import annotations

from collections.abc import Callable

from immich_mirror.fake import serialize as ser
from immich_mirror.fake.http_errors import ApiFailure
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Reply, Route
from immich_mirror.fake.state import FakeAsset


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


# Why one asset of a tag/untag request is refused, given the asset (None: unknown id), whether the tag
# holds it already and the caller's id; None accepts it.
Verdict = Callable[[FakeAsset | None, bool, str], str | None]


def _tag_refusal(asset: FakeAsset | None, member: bool, user_id: str) -> str | None:
    if member:
        return "duplicate"
    if asset is None or asset.owner_id != user_id:
        return "no_permission"
    return None


def _untag_refusal(asset: FakeAsset | None, member: bool, user_id: str) -> str | None:
    if asset is not None and asset.owner_id != user_id:
        return "no_permission"
    if not member:
        return "not_found"
    return None


def _member_writes(ctx: Ctx, verdict: Verdict, write: Callable[[list[str], list[str]], object]) -> Reply:
    """`PUT`/`DELETE /tags/{id}/assets`: a result per id, and the write for those accepted."""
    tag_id = ctx.path_id()
    ids = ctx.body_ids()
    tag = ctx.tag_for(tag_id, "tag.asset")
    with ctx.lib.lock:
        members = ctx.lib.tag_members[tag.id]
        results = [(aid, verdict(ctx.lib.assets.get(aid), aid in members, ctx.user.id)) for aid in ids]
        write([tag.id], [aid for aid, err in results if err is None])
    return 200, ser.bulk_results(results)


def tag_assets(ctx: Ctx) -> Reply:
    return _member_writes(ctx, _tag_refusal, ctx.lib.tag_assets)


def untag_assets(ctx: Ctx) -> Reply:
    return _member_writes(ctx, _untag_refusal, ctx.lib.untag_assets)


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
