"""Load and save the fake server's state as one JSON document (format in docs/fake-server.md).

Hand-written files may leave out almost everything: an asset needs only `original_file_name`
(dates, paths and checksums default as for an upload), a tag only `value`, an album only `name`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import FakeAsset, FakeSharedLink, FakeUser, fmt_pg, parse_dt

FORMAT = "immich-mirror-fake/1"
_ASSET_DATES = {f.name for f in fields(FakeAsset) if f.name.endswith("_at")} | {
    "date_time_original", "local_date_time"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return fmt_pg(value)
    if isinstance(value, set):
        return sorted(value)
    return value


def _dates(record: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {k: (parse_dt(v) if k in names and isinstance(v, str) else v) for k, v in record.items()}


def dump_state(lib: FakeLibrary, faults: FaultPlan | None = None) -> dict[str, Any]:
    with lib.lock:
        lib.settle()
        tags = []
        for tag in sorted(lib.tags.values(), key=lambda t: t.value):
            tags.append({"id": tag.id, "user_id": tag.user_id, "value": tag.value, "color": tag.color,
                         "created_at": _plain(tag.created_at), "updated_at": _plain(tag.updated_at),
                         "asset_ids": sorted(lib.tag_members.get(tag.id, ()))})
        return {
            "format": FORMAT,
            "version": lib.version,
            "settings": {
                "jobs": lib.jobs_mode, "job_delay_s": lib.job_delay_s, "seed": lib.seed,
                "lost_writes_rate": lib.lost_writes_rate, "lost_writes_window_ms": lib.lost_writes_window_ms,
                "faults": faults.to_spec() if faults else "", "faults_seed": faults.seed if faults else 0,
            },
            "owner_id": lib.owner_id,
            "users": [{k: _plain(v) for k, v in asdict(u).items()} for u in lib.users.values()],
            "partners": [{"sharer": s, "viewer": v}
                         for v, sharers in lib.partners.items() for s in sorted(sharers)],
            "api_keys": [{"id": k.id, "name": k.name, "secret": k.secret, "user_id": k.user_id,
                          "permissions": k.permissions} for k in lib.api_keys.values()],
            "assets": [{k: _plain(v) for k, v in asdict(a).items()} for a in lib.assets.values()],
            "albums": [{
                "id": al.id, "owner_id": al.owner_id, "name": al.name, "description": al.description,
                "created_at": _plain(al.created_at), "updated_at": _plain(al.updated_at),
                "asset_ids": list(al.members), "shared_with": al.shared_with,
                "thumbnail_asset_id": al.thumbnail_asset_id,
            } for al in lib.albums.values()],
            "tags": tags,
            "shared_links": [{k: _plain(v) for k, v in asdict(s).items()} for s in lib.shared_links.values()],
            "people": [{"id": p.id, "owner_id": p.owner_id, "name": p.name, "is_hidden": p.is_hidden,
                        "created_at": _plain(p.created_at), "updated_at": _plain(p.updated_at),
                        "asset_ids": sorted(p.asset_ids)} for p in lib.people.values()],
        }


def save_state(lib: FakeLibrary, path: str | Path, faults: FaultPlan | None = None) -> None:
    Path(path).write_text(json.dumps(dump_state(lib, faults), indent=1))


def load_state(data: dict[str, Any]) -> tuple[FakeLibrary, FaultPlan | None]:
    """Build a library (and the fault plan, if the file has one) from `dump_state`'s format."""
    settings = data.get("settings", {})
    lib = FakeLibrary(
        version=data.get("version", "3.1.0"), jobs=settings.get("jobs", "immediate"),
        job_delay_s=settings.get("job_delay_s", 0.5), seed=settings.get("seed", 0),
        lost_writes_rate=settings.get("lost_writes_rate", 0.0),
        lost_writes_window_ms=settings.get("lost_writes_window_ms", 1000.0), bootstrap=False,
    )
    with lib.lock:
        user_dates = {"created_at", "updated_at", "profile_changed_at"}
        for user in data.get("users", []):
            record = FakeUser(**_dates(user, user_dates))
            lib.users[record.id] = record
        lib.owner_id = data.get("owner_id") or next(iter(lib.users), "")
        if not lib.users:
            lib.add_user("admin@example.com", "Fake Admin", is_admin=True, storage_label="admin")
        for pair in data.get("partners", []):
            lib.add_partner(pair["sharer"], pair["viewer"])
        for key in data.get("api_keys", []):
            lib.add_api_key(key.get("user_id"), secret=key["secret"], id=key.get("id"),
                            permissions=key.get("permissions", ["all"]), name=key.get("name", "fake"))
        if not lib.api_keys:
            lib.add_api_key(secret="fake-api-key")
        for raw in data.get("assets", []):
            values = dict(_dates(raw, _ASSET_DATES))
            values["sidecar_tags"] = set(values.get("sidecar_tags", ()))
            lib.add_asset(values.pop("original_file_name"), owner_id=values.pop("owner_id", None), **values)
        for raw in data.get("albums", []):
            album = lib.create_album(raw["name"], raw.get("asset_ids", ()), owner_id=raw.get("owner_id"),
                                     description=raw.get("description", ""), id=raw.get("id"))
            album.shared_with.update(raw.get("shared_with", {}))
            # (lastModifiedAssetTimestamp is computed from the members; older state files may hold it.)
            for attr in ("created_at", "updated_at"):
                if raw.get(attr):
                    setattr(album, attr, parse_dt(raw[attr]))
            if "thumbnail_asset_id" in raw:
                album.thumbnail_asset_id = raw["thumbnail_asset_id"]
        for raw in sorted(data.get("tags", []), key=lambda t: t["value"]):
            tag = lib.create_tag(raw["value"], owner_id=raw.get("user_id"), color=raw.get("color"),
                                 id=raw.get("id"))
            for attr in ("created_at", "updated_at"):
                if raw.get(attr):
                    setattr(tag, attr, parse_dt(raw[attr]))
            for aid in raw.get("asset_ids", ()):
                if aid in lib.assets:
                    lib.tag_members[tag.id].add(aid)
                    lib.asset_tags.setdefault(aid, set()).add(tag.id)
        for raw in data.get("shared_links", []):
            link = FakeSharedLink(**_dates(raw, {"created_at"}))
            lib.shared_links[link.id] = link
        for raw in data.get("people", []):
            person = lib.add_person(raw["name"], raw.get("asset_ids", ()), is_hidden=raw.get("is_hidden", False),
                                    owner_id=raw.get("owner_id"), id=raw.get("id"))
            for attr in ("created_at", "updated_at"):
                if raw.get(attr):
                    setattr(person, attr, parse_dt(raw[attr]))
        for asset in lib.assets.values():
            if not asset.sidecar_tags:
                asset.sidecar_tags = {lib.tags[t].value for t in lib.asset_tags.get(asset.id, ())}
        lib.revision += 1
    spec = settings.get("faults") or ""
    return lib, (FaultPlan.parse(spec, settings.get("faults_seed", 0)) if spec else None)


def read_state(path: str | Path) -> tuple[FakeLibrary, FaultPlan | None]:
    data = json.loads(Path(path).read_text())
    if data.get("format", FORMAT) != FORMAT:
        raise ValueError(f"{path}: unknown state format {data.get('format')!r} (expected {FORMAT})")
    return load_state(data)
