"""Build a `FakeLibrary` equivalent to the lab server behind a folder of recordings, and compare shapes.

The seed takes every entity the recordings show (assets, albums, tags, users, shared links, with
their ids), so replaying a recorded request against the fake hits the same ids. Per recording,
`prepare()` then sets the state the recorded answer implies (a link that already existed for a
"duplicate" result, an asset that did not exist for "no_permission", ...).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import FakeTag, parse_dt

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"
KEY = "contract-key"
LIMITED_KEY = "contract-key-no-album-read"
SESSION = "contract-session"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def load(folder: str) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((RECORDINGS / folder).glob("*.json"))}


def is_exchange(rec: dict[str, Any]) -> bool:
    return {"request", "status", "body"} <= set(rec) and isinstance(rec["request"], dict) and not _steps(rec)


def _steps(rec: dict[str, Any]) -> bool:
    """A recording of states after steps (``albums_list_triple_steps``), not one server answer: its own
    test replays the steps (tests/fake/test_behaviour.py)."""
    body = rec.get("body")
    return isinstance(body, list) and bool(body) and all(isinstance(b, dict) and "step" in b for b in body)


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _dt(value: Any, default: datetime) -> datetime:
    try:
        return parse_dt(str(value)) if value else default
    except ValueError:
        return default


def seed(folder: str) -> FakeLibrary:
    recs = load(folder)
    lib = FakeLibrary(bootstrap=False, version=folder.lstrip("v"))
    me = recs["users_me"]["body"]
    lib.add_user(me["email"], me["name"], id=me["id"], is_admin=True, storage_label=me["storageLabel"])
    lib.add_api_key(me["id"], secret=KEY, permissions=["all"], name="contract")
    lib.add_api_key(me["id"], secret=LIMITED_KEY, permissions=["asset.read", "user.read"], name="limited")
    lib.add_session(me["id"], SESSION)
    bodies = [r.get("body") for r in recs.values() if is_exchange(r)]
    alias: dict[str, str] = {}
    # Two lab servers recorded the v2 folder: their admins are the same "me".
    for node in _walk(bodies):
        if isinstance(node, dict) and {"email", "name", "id"} <= set(node) and node["id"] not in lib.users:
            if node["name"] == me["name"]:
                alias[node["id"]] = me["id"]
            elif node["id"] not in alias:
                lib.add_user(node["email"], node["name"], id=node["id"],
                             avatar_color=node.get("avatarColor", "gray"))
                lib.add_partner(node["id"], me["id"])

    def owner(uid: Any) -> str:
        uid = str(uid)
        return alias.get(uid, uid if uid in lib.users else str(me["id"]))

    now = datetime(2026, 11, 24, tzinfo=UTC)
    links: list[tuple[str, dict[str, Any]]] = []
    albums: list[dict[str, Any]] = []
    for node in _walk(bodies):
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        if "originalFileName" in node and "checksum" in node:
            _seed_asset(lib, node, owner, now)
            links += [(node["id"], t) for t in node.get("tags") or [] if isinstance(t, dict)]
        elif "albumName" in node:
            albums.append(node)
        elif {"value", "name", "createdAt"} <= set(node):
            _seed_tag(lib, node, me["id"])
    for asset_id, tag in links:
        _seed_tag(lib, tag, me["id"])
        lib.tag_members[tag["id"]].add(asset_id)
        lib.asset_tags.setdefault(asset_id, set()).add(tag["id"])
    for node in albums:
        _seed_album(lib, node, owner, now)
    for body in bodies:
        for node in _walk(body):
            is_link = isinstance(node, dict) and node.get("key") == "REDACTED"
            if is_link and isinstance(node.get("album"), dict):
                link = lib.create_shared_link(node["album"]["id"])
                link.description = node.get("description")
    _fill(lib, me["id"])
    for asset in lib.assets.values():
        asset.sidecar_tags = {lib.tags[t].value for t in lib.asset_tags.get(asset.id, set())}
    lib.settle()
    return lib


def _seed_asset(lib: FakeLibrary, node: dict[str, Any], owner: Any, now: datetime) -> None:
    existing = lib.assets.get(node["id"])
    if existing is not None:
        if node.get("isTrashed"):
            existing.deleted_at = existing.deleted_at or now
        if node.get("duplicateId"):
            existing.duplicate_id = node["duplicateId"]
        return
    created = _dt(node.get("fileCreatedAt"), now)
    exif = node.get("exifInfo") or {}
    lib.add_asset(
        node["originalFileName"], id=node["id"], owner_id=owner(node.get("ownerId")),
        checksum=node["checksum"], original_path=node.get("originalPath", "/x"),
        file_created_at=created, local_date_time=_dt(node.get("localDateTime"), created),
        date_time_original=_dt(exif.get("dateTimeOriginal"), created), time_zone=exif.get("timeZone"),
        visibility=node.get("visibility", "timeline"), is_favorite=bool(node.get("isFavorite")),
        deleted_at=now if node.get("isTrashed") else None, duplicate_id=node.get("duplicateId"),
        library_id=node.get("libraryId"), thumbhash=node.get("thumbhash"),
        width=node.get("width"), height=node.get("height"), make=exif.get("make"), model=exif.get("model"),
    )


def _seed_tag(lib: FakeLibrary, node: dict[str, Any], me: str) -> FakeTag:
    existing = lib.tags.get(node["id"])
    if existing is not None:
        return existing
    value: str = node["value"]
    parent_value = value.rsplit("/", 1)[0] if "/" in value else None
    parent_id = node.get("parentId")
    if parent_value is not None:
        parent = lib.tag_by_value(parent_value, me)
        if parent is None:
            parent = _seed_tag(lib, {"id": parent_id or _derived_id(parent_value), "value": parent_value,
                                     "name": parent_value.rsplit("/", 1)[-1]}, me)
        parent_id = parent.id
    stamp = datetime(2026, 11, 24, tzinfo=UTC)
    tag = FakeTag(id=node["id"], user_id=me, value=value, parent_id=parent_id, created_at=stamp,
                  updated_at=stamp, color=node.get("color"))
    lib.tags[tag.id] = tag
    lib.tag_members.setdefault(tag.id, set())
    return tag


def _derived_id(text: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, text)).replace("-5", "-4", 1)


def _seed_album(lib: FakeLibrary, node: dict[str, Any], owner: Any, now: datetime) -> None:
    album = lib.albums.get(node["id"])
    users = node.get("albumUsers") or []
    owner_id = node.get("ownerId") or next((u["user"]["id"] for u in users if u.get("role") == "owner"), None)
    if album is None:
        album = lib.create_album(node["albumName"], id=node["id"], owner_id=owner(owner_id),
                                 description=node.get("description") or "")
        album.created_at = _dt(node.get("createdAt"), now)
        album.updated_at = _dt(node.get("updatedAt"), now)
    for entry in users:
        if entry.get("role") != "owner":
            album.shared_with[owner(entry["user"]["id"])] = entry.get("role", "viewer")
    for asset in node.get("assets") or []:
        if isinstance(asset, dict) and asset["id"] in lib.assets:
            album.members.setdefault(asset["id"], now)
    if node.get("assetCount") and not album.members:
        # Lists carry a count, not the members: give the album some of the owner's assets.
        own = [a.id for a in lib.assets.values() if a.owner_id == album.owner_id][:3]
        if not own:
            own = [lib.add_asset(f"{album.name}_{i}.jpg", owner_id=album.owner_id,
                                 id=_derived_id(f"{album.id}-{i}")).id for i in range(3)]
        album.members.update(dict.fromkeys(own, now))
    if album.members:
        album.thumbnail_asset_id = album.thumbnail_asset_id or next(iter(album.members))


def _fill(lib: FakeLibrary, me: str) -> None:
    """Extra assets so paged recordings (size 3, nextPage "2") have more than a page to show."""
    start = datetime(2015, 1, 1, tzinfo=UTC)
    tag_ids = [t.id for t in lib.tags.values() if t.user_id == me]
    plan = ["timeline"] * 100 + ["archive"] * 6 + ["hidden"] * 3 + ["trash"] * 3
    for i, kind in enumerate(plan):
        when = start + timedelta(days=33 * i)
        asset = lib.add_asset(
            f"FILL_{i:04d}.jpg", id=_derived_id(f"fill-{i}"), owner_id=me, date_time_original=when,
            visibility="timeline" if kind == "trash" else kind, deleted_at=when if kind == "trash" else None,
        )
        if i < 5:
            for tid in tag_ids:
                lib.tag_members[tid].add(asset.id)
                lib.asset_tags.setdefault(asset.id, set()).add(tid)


def ensure_asset(lib: FakeLibrary, asset_id: str) -> None:
    if asset_id not in lib.assets:
        lib.add_asset("ENSURED.jpg", id=asset_id)


def prepare(lib: FakeLibrary, name: str, rec: dict[str, Any]) -> None:
    """Put the library in the state the recorded answer implies."""
    req = rec["request"]
    body = req.get("body") if isinstance(req.get("body"), dict) else {}
    url: str = req["url"]
    path_ids = _UUID.findall(url.split("?")[0])
    ok = 200 <= rec["status"] < 300
    if ok:
        for key in ("ids", "assetIds"):
            if not url.startswith("/api/duplicates"):
                for aid in body.get(key) or []:
                    ensure_asset(lib, aid)
        if re.match(r"^/api/tags/[0-9a-f-]{36}", url) and path_ids[0] not in lib.tags:
            tag = lib.create_tag(f"ensured/{path_ids[0][:8]}")
            _rekey_tag(lib, tag.id, path_ids[0])
        if re.match(r"^/api/albums/[0-9a-f-]{36}", url) and path_ids[0] not in lib.albums:
            lib.create_album("ensured", id=path_ids[0])
        for tid in body.get("tagIds") or []:
            if tid not in lib.tags:
                tag = lib.create_tag(f"ensured/{tid[:8]}")
                _rekey_tag(lib, tag.id, tid)
    if name.startswith("tags_create") and rec["status"] == 201:
        lib.delete_tag(rec["body"]["id"])
        stale = lib.tag_by_value(rec["body"]["value"])
        if stale is not None:
            lib.delete_tag(stale.id)
    for node in _walk(rec.get("body")):
        # Tags as the recording saw them (a later recording may have recoloured one).
        if isinstance(node, dict) and {"value", "name"} <= set(node) and node.get("id") in lib.tags:
            lib.tags[node["id"]].color = node.get("color")
    if name == "sync_ack_get":
        lib.sync_acks[SESSION] = {item["type"]: item["ack"] for item in rec["body"]}
    if name == "tags_bulk_tag_assets":
        # Recorded note: the first asset already had the second tag, so 3 new links of 4.
        lib.untag_assets(body["tagIds"], body["assetIds"])
        lib.tag_assets([body["tagIds"][1]], [body["assetIds"][0]])
    if name == "tags_bulk_tag_assets_again":
        lib.tag_assets(body["tagIds"], body["assetIds"])
    if name == "trash_restore_assets":
        lib.trash(body["ids"])
    if "assetId=" in url:
        for album in rec["body"]:
            lib.albums[album["id"]].members.setdefault(url.split("assetId=")[1], datetime.now(UTC))
    if isinstance(rec.get("body"), list) and rec["body"] and isinstance(rec["body"][0], dict) \
            and "success" in rec["body"][0]:
        _prepare_per_id(lib, url, req["method"], rec["body"])
    lib.settle()


def _rekey_tag(lib: FakeLibrary, old: str, new: str) -> None:
    tag = lib.tags.pop(old)
    tag.id = new
    lib.tags[new] = tag
    lib.tag_members[new] = lib.tag_members.pop(old)


def _prepare_per_id(lib: FakeLibrary, url: str, method: str, results: list[dict[str, Any]]) -> None:
    target = _UUID.findall(url)[0]
    for item in results:
        aid, error = item["id"], item.get("error")
        if error == "no_permission":
            lib.purge([aid])
            continue
        ensure_asset(lib, aid)
        linked = (error == "duplicate") if method == "PUT" else (error is None)
        if url.startswith("/api/tags/"):
            (lib.tag_assets if linked else lib.untag_assets)([target], [aid])
        elif linked:
            lib.albums[target].members.setdefault(aid, datetime.now(UTC))
        else:
            lib.albums[target].members.pop(aid, None)
