"""What a handler gets (`Ctx`) and how an endpoint is declared (`Route`), shared by the `api_*` modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from immich_mirror.fake.http_errors import ApiFailure, Check, not_found
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.search import SearchEngine
from immich_mirror.fake.state import FakeAlbum, FakeApiKey, FakeAsset, FakeTag, FakeUser

NO_CONTENT = object()
Reply = tuple[int, Any]  # (status, JSON body); a body of NO_CONTENT answers without one


@dataclass
class Ctx:
    lib: FakeLibrary
    version: str
    engine: SearchEngine
    user: FakeUser
    key: FakeApiKey | None
    token: str | None
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    has_body: bool

    @property
    def v2(self) -> bool:
        return self.version.startswith("2.")

    def check(self) -> Check:
        return Check(self.version)

    def json_body(self) -> dict[str, Any]:
        """The body as an object; anything else is the version's 'expected object' error."""
        if isinstance(self.body, dict):
            return self.body
        check = self.check()
        check.missing_type("", "object", self.body, "body must be an object")
        check.issues[-1].v3["path"] = []
        check.done()
        return {}

    def body_ids(self, key: str = "ids") -> list[str]:
        """The ids of a body that holds nothing else: ``{key: [uuid, ...]}``, validated as the version does."""
        body = self.json_body()
        check = self.check()
        ids = check.uuids(body, key)
        check.done()
        return ids

    def path_id(self, name: str = "id") -> str:
        check = self.check()
        check.path_id(self.params[name], name)
        check.done()
        return self.params[name]

    def query_bool(self, name: str) -> bool | None:
        value = self.query.get(name)
        if value is None:
            return None
        return value.lower() == "true"

    # -- access (the real server answers 400 "Not found or no <perm> access" for all of these) --

    def readable_owner_ids(self) -> set[str]:
        return {self.user.id} | self.lib.partners.get(self.user.id, set())

    def can_read_asset(self, asset: FakeAsset) -> bool:
        if asset.owner_id in self.readable_owner_ids():
            return True
        return any(
            asset.id in al.members and self.user.id in al.shared_with for al in self.lib.albums.values()
        )

    def asset_for(self, asset_id: str, permission: str) -> FakeAsset:
        asset = self.lib.assets.get(asset_id)
        if asset is None:
            raise not_found(permission)
        if permission == "asset.read" and self.can_read_asset(asset):
            return asset
        if asset.owner_id != self.user.id:
            raise not_found(permission)
        return asset

    def owned_assets(self, ids: list[str], permission: str) -> list[FakeAsset]:
        """All or nothing, as the bulk asset endpoints check access."""
        found = [self.lib.assets.get(i) for i in ids]
        if any(a is None or a.owner_id != self.user.id for a in found):
            raise not_found(permission)
        return [a for a in found if a is not None]

    def album_for(self, album_id: str, permission: str, *, write: bool = False) -> FakeAlbum:
        album = self.lib.albums.get(album_id)
        if album is None:
            raise not_found(permission)
        if album.owner_id == self.user.id:
            return album
        role = album.shared_with.get(self.user.id)
        if role is None or (write and role != "editor"):
            raise not_found(permission)
        return album

    def tag_for(self, tag_id: str, permission: str) -> FakeTag:
        tag = self.lib.tags.get(tag_id)
        if tag is None or tag.user_id != self.user.id:
            raise not_found(permission)
        return tag


Handler = Callable[[Ctx], Reply]


@dataclass
class Route:
    method: str
    path: str  # relative to /api, `{name}` for a path parameter
    handler: Handler
    permission: str | None = None
    auth: bool = True
    admin: bool = False
    sync: bool = False  # sync endpoints refuse API keys
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        self.regex = re.compile(f"^{pattern}$")


def fail(status: int, message: str) -> ApiFailure:
    return ApiFailure(status, message)
