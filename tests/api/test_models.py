"""Models and dialect rules, fed with the real payloads in the cassettes of both versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from immich_mirror.api.dialect import Dialect, SearchWalk, dialect_for
from immich_mirror.api.models import (
    Album,
    ApiKeyInfo,
    DuplicateGroup,
    PeoplePage,
    ServerVersion,
    SharedLink,
    Tag,
    User,
)
from immich_mirror.errors import UnexpectedResponse, UnsupportedServer

from .conftest import VERSIONS, cassette_interactions


def body(version: str, name: str) -> Any:
    return json.loads(cassette_interactions(version, name)[-1]["response"]["body"]["string"])


def test_server_version_compares_and_prints() -> None:
    v275 = ServerVersion.model_validate(body("2.7.5", "server_version"))
    v310 = ServerVersion.model_validate(body("3.1.0", "server_version"))
    assert str(v275) == "2.7.5" and str(v310) == "3.1.0" and v310.prerelease is None
    assert v275 < v310 and v310 >= v275 and v310.at_least(3, 1) and not v310.at_least(3, 2)
    assert str(ServerVersion(major=3, minor=2, patch=0, prerelease=1)) == "3.2.0-1"


@pytest.mark.parametrize(
    ("triple", "family"),
    [
        ((2, 0, 0), "v2"),
        ((2, 7, 5), "v2"),
        ((3, 0, 0), "v3.0"),
        ((3, 1, 0), "v3.0"),
        ((3, 2, 0), "v3.2"),
        ((3, 3, 5), "v3.2"),
        ((4, 0, 0), "v3.2"),
    ],
)
def test_dialect_families(triple: tuple[int, int, int], family: str) -> None:
    dialect = dialect_for(ServerVersion(major=triple[0], minor=triple[1], patch=triple[2]))
    assert dialect.family == family
    assert dialect.newer_than_known == (triple[:2] > (3, 2))


def test_too_old() -> None:
    with pytest.raises(
        UnsupportedServer, match=r"^Immich 1\.142\.1 is too old: autotag needs 2\.0 or newer$"
    ):
        dialect_for(ServerVersion(major=1, minor=142, patch=1))


@pytest.mark.parametrize("version", VERSIONS)
def test_albums_owner_id_both_ways(version: str) -> None:
    me = (
        "37c1d84d-4d4b-472c-9109-7d9618087f43"
        if version == "2.7.5"
        else User.model_validate(body(version, "users_me")).id
    )
    owned = [Album.model_validate(a) for a in body(version, "albums_list_isOwned_true")]
    assert owned and all(a.owner_id == me for a in owned)
    album = Album.model_validate(body(version, "albums_get"))
    assert (album.owner_id and album.album_name == "To sort") or album.album_name
    assert isinstance(album.updated_at, datetime) and album.updated_at.tzinfo is not None


def test_v3_owner_comes_from_album_users() -> None:
    (friend,) = [Album.model_validate(a) for a in body("3.1.0", "albums_list_isOwned_false")]
    assert friend.owner_id == "6236c904-2a41-426c-baef-c9bbc7ebb010"
    assert friend.user_ids() == [
        "6236c904-2a41-426c-baef-c9bbc7ebb010",
        "a73292cd-414e-4d76-99b0-0b35b7ecb91d",
    ]
    assert "ownerId" not in body("3.1.0", "albums_list_isOwned_false")[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_tags_keys_and_more(version: str) -> None:
    tags = [Tag.model_validate(t) for t in body(version, "tags_list")]
    assert len({t.value for t in tags}) == len(tags)
    assert any(t.parent_id for t in tags)
    assert ApiKeyInfo.model_validate(body(version, "api_keys_me")).allows("album.read")
    assert ApiKeyInfo(permissions=["asset.read"]).missing(["asset.read", "tag.asset"]) == ["tag.asset"]
    links = [SharedLink.model_validate(s) for s in body(version, "shared_links_list")]
    assert links[0].album is not None and links[0].key == "REDACTED"
    assert "REDACTED" not in repr(links[0])  # share keys stay out of reprs
    groups = [DuplicateGroup.model_validate(g) for g in body(version, "duplicates_list")]
    assert groups and all(len(g.asset_ids) >= 2 for g in groups)
    assert PeoplePage.model_validate(body(version, "people_list")).total == 0


def test_next_body_rules() -> None:
    flat = SearchWalk({"page": 1, "size": 3}, cursor_paging=False)
    assert Dialect.next_body(flat, flat.body, {"nextPage": "2"}) == {"page": 2, "size": 3}
    assert Dialect.next_body(flat, flat.body, {"nextPage": None}) is None
    with pytest.raises(UnexpectedResponse):
        Dialect.next_body(flat, flat.body, {"nextPage": "two"})
    cur = SearchWalk({"filter": {}}, cursor_paging=True)
    assert Dialect.next_body(cur, cur.body, {"nextCursor": "x", "nextPage": None}) == {
        "filter": {},
        "cursor": "x",
    }
    with pytest.raises(UnexpectedResponse):
        Dialect.next_body(cur, {"cursor": "x"}, {"nextCursor": "x"})


def test_search_walk_validation() -> None:
    d = dialect_for(ServerVersion(major=3, minor=1, patch=0))
    kw: dict[str, Any] = dict(
        visibility="timeline",
        with_deleted=False,
        album_ids=(),
        tag_ids=(),
        person_ids=(),
        with_exif=False,
        extra={"isNotInAlbum": True},
    )
    (walk,) = d.search_walks(updated_after=datetime(2026, 1, 1, 1, tzinfo=UTC), size=1000, **kw)
    assert walk.body["isNotInAlbum"] is True and walk.body["withExif"] is False
    with pytest.raises(ValueError, match="size"):
        d.search_walks(updated_after=None, size=1001, **kw)
    d32 = dialect_for(ServerVersion(major=3, minor=2, patch=2))
    (walk,) = d32.search_walks(
        updated_after=None, size=10, **{**kw, "extra": {"filter": {"hasAlbums": {"eq": False}}}}
    )
    assert walk.body["filter"]["hasAlbums"] == {"eq": False} and walk.body["filter"]["visibility"]
