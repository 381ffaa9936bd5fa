"""The client against real Immich answers (vcrpy cassettes built from recordings of v2.7.5 and v3.1.0).

Playback only (``record_mode="none"``): a request the cassette does not hold fails the test.
Requests match on method and path (plus the query where the test is about the query), because
the recordings were made with hand-written bodies, not the client's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import vcr
import yaml

from immich_mirror.api import record
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.models import User
from immich_mirror.api.record import SECRET_HEADERS, SECRET_PARAMS
from immich_mirror.api.retry import RetryPolicy
from immich_mirror.errors import (
    AuthenticationFailed,
    BadRequest,
    ImmichError,
    NotFound,
    PermissionDenied,
    UnsupportedServer,
)
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server

from .conftest import API_KEY, CASSETTES, VERSIONS, cassette_interactions


def _integer_page(r1: Any, r2: Any) -> None:
    """Matcher: every search body the client sends carries ``page`` as an integer (3.x rejects "2")."""
    if r1.body and r1.path.endswith("/search/metadata"):
        body = json.loads(r1.body)
        assert not isinstance(body.get("page"), str), f"page sent as a string: {body['page']!r}"


PLAYER = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none", match_on=("method", "path"))
PLAYER.register_matcher("integer_page", _integer_page)
STRICT = vcr.VCR(
    cassette_library_dir=str(CASSETTES), record_mode="none", match_on=("method", "path", "query")
)


def _client(sent: list[Any] | None = None) -> ImmichClient:
    """A client over a real httpx.Client (vcrpy patches its transport); ``sent`` collects JSON bodies."""

    def keep(request: httpx.Request) -> None:
        if sent is not None and request.content:
            sent.append(json.loads(request.content))

    http = httpx.Client(event_hooks={"request": [keep]})
    return ImmichClient("http://immich.test", API_KEY, http=http, retry=RetryPolicy.no_sleep(max_attempts=1))


@pytest.fixture
def play(request: pytest.FixtureRequest) -> Iterator[Any]:
    def use(version: str, name: str, *, strict: bool = False, **kw: Any) -> Any:
        player = STRICT if strict else PLAYER
        return player.use_cassette(f"v{version}/{name}.yaml", **kw)

    yield use


def _path_id(version: str, name: str, index: int = 3) -> str:
    """The id in the recorded request path (``/api/<kind>/<id>/...`` -> index 3)."""
    return str(urlsplit(cassette_interactions(version, name)[-1]["request"]["uri"]).path.split("/")[index])


def _body_of(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


def _last_body(version: str, name: str) -> Any:
    return _body_of(cassette_interactions(version, name)[-1])


@pytest.mark.parametrize("version", VERSIONS)
def test_version_and_identity(play: Any, version: str) -> None:
    with play(version, "server_version"):
        client = _client()
        assert str(client.server_version()) == version
        assert client.dialect.family == ("v2" if version.startswith("2") else "v3.0")
    with play(version, "users_me"):
        me = _client().me()
        assert me.id and me.email and me.is_admin
    with play(version, "api_keys_me"):
        assert _client().api_key_info().permissions == ["all"]
    with play(version, "server_about"):
        assert _client().about()["version"] == f"v{version}"
    with play(version, "server_ping"):
        _client().ping()
    with play(version, "assets_statistics"):
        assert set(_client().asset_statistics()) >= {"images", "videos", "total"}


@pytest.mark.parametrize("version", VERSIONS)
def test_owned_albums_owner_id_both_ways(play: Any, version: str) -> None:
    name = "albums_list" if version == "2.7.5" else "albums_list_isOwned_true"
    me_id = _last_body(version, "users_me")["id"]
    with play(version, name, strict=True):  # strict: v2 sends no query, v3 sends ?isOwned=true
        albums = _client().list_albums()
    assert albums and all(a.owner_id == me_id for a in albums)
    assert all(a.updated_at is not None and a.asset_count >= 0 for a in albums)


def test_shared_with_me_v3(play: Any) -> None:
    with play("3.1.0", "albums_list_isOwned_false", strict=True):
        (album,) = _client().list_albums(shared_with_me=True)
    assert album.album_name == "Friend's trip"
    assert album.owner_id == "6236c904-2a41-426c-baef-c9bbc7ebb010"


def test_shared_with_me_v2_drops_my_own_shared_album(play: Any) -> None:
    # The v2 users_me recording comes from another library than albums_list_shared; the owner of
    # that library's albums (see albums_list_isOwned_true) is "me" here.
    owner = _last_body("2.7.5", "albums_list_isOwned_true")[0]["ownerId"]
    with play("2.7.5", "albums_list_shared", strict=True):
        client = _client()
        client._me = User(id=owner)
        albums = client.list_albums(shared_with_me=True)
    assert [a.album_name for a in albums] == ["Friend's trip"]
    assert albums[0].owner_id != owner


@pytest.mark.parametrize("version", VERSIONS)
def test_get_album(play: Any, version: str) -> None:
    name = "albums_get_withoutAssets" if version == "2.7.5" else "albums_get"
    with play(version, name, strict=True):  # strict: v2 must ask withoutAssets=true, v3 must not
        album = _client().get_album(_last_body(version, name)["id"])
    assert album.album_name == _last_body(version, name)["albumName"] and album.owner_id


@pytest.mark.parametrize("version", VERSIONS)
def test_album_writes(play: Any, version: str) -> None:
    with play(version, "albums_create"):
        album = _client().create_album("2024-02-29 Leap day (recorder)", description="created by record.py")
    assert album.owner_id and album.album_name.startswith("2024-02-29")
    with play(version, "albums_add_assets"):
        results = _client().add_assets_to_album(_path_id(version, "albums_add_assets"), ["a", "b", "c"])
    assert "duplicate" in {r.error for r in results if not r.success}
    with play(version, "albums_remove_assets"):
        results = _client().remove_assets_from_album(_path_id(version, "albums_remove_assets"), ["a", "b"])
    assert [r.error for r in results] == [None, "not_found"]
    with play(version, "albums_delete"):
        _client().delete_album(_path_id(version, "albums_delete"))


@pytest.mark.parametrize("version", VERSIONS)
def test_tags(play: Any, version: str) -> None:
    with play(version, "tags_list"):
        tags = _client().list_tags()
    assert tags and len({t.value for t in tags}) == len(tags)
    with play(version, "tags_upsert"):
        upserted = _client().upsert_tags(["meme", "recorder/new/leaf", "autotag_input_meme"])
    assert [t.value for t in upserted] == ["meme", "recorder/new/leaf", "autotag_input_meme"]
    assert upserted[1].parent_id  # parents are created, only leaves come back
    with play(version, "tags_bulk_tag_assets"):
        assert _client().tag_assets_bulk(["t1", "t2"], ["a1", "a2"]) == 3
    with play(version, "tags_bulk_tag_assets_again"):
        assert _client().tag_assets_bulk(["t1"], ["a1"]) == 0
    with play(version, "tags_tag_assets"):
        results = _client().tag_assets(_path_id(version, "tags_tag_assets"), ["a", "b"])
    assert any(r.error == "duplicate" for r in results)
    with play(version, "tags_untag_assets"):
        results = _client().untag_assets(_path_id(version, "tags_untag_assets"), ["a", "b"])
    assert any(r.success for r in results)
    with play(version, "tags_delete"):
        _client().delete_tag(_path_id(version, "tags_delete"))


@pytest.mark.parametrize("version", VERSIONS)
def test_assets_duplicates_links(play: Any, version: str) -> None:
    with play(version, "assets_get_with_tags"):
        asset = _client().get_asset(_path_id(version, "assets_get_with_tags"))
    assert asset["tags"] and "exifInfo" in asset
    with play(version, "assets_bulk_set_duplicateId"):
        _client().update_assets(["a", "b"], duplicateId="6f1c0000-0000-4000-8000-000000000000")
    with play(version, "duplicates_list"):
        groups = _client().list_duplicates()
    assert groups and all(g.duplicate_id and len(g.asset_ids) >= 2 for g in groups)
    with play(version, "shared_links_list"):
        (link,) = _client().list_shared_links()
    assert link.type == "ALBUM" and link.album is not None and link.key == "REDACTED"


@pytest.mark.parametrize("version", VERSIONS)
def test_search_paging_sends_integer_pages(play: Any, version: str) -> None:
    sent: list[Any] = []
    with play(version, "search_paging", match_on=("method", "path", "integer_page")) as cassette:
        pages = list(_client(sent).search_raw({"size": 3, "page": 1, "withExif": True, "visibility": "timeline"}))
    # page 1 says nextPage "2", page 2 says "3", page 3 is empty with nextPage null
    recorded = [
        len(_body_of(i)["assets"]["items"]) for i in cassette_interactions(version, "search_paging")[1:3]
    ]
    assert [len(p) for p in pages] == recorded
    assert cassette.all_played
    assert [b["page"] for b in sent] == [1, 2, 3]


@pytest.mark.parametrize("version", VERSIONS)
def test_search_assets_walks_as_few_times_as_the_server_allows(play: Any, version: str) -> None:
    sent: list[Any] = []
    with play(version, "search_metadata_no_visibility", allow_playback_repeats=True):
        pages = list(_client(sent).search_assets(visibility=None))
    if version.startswith("2."):
        assert len(pages) == 3  # timeline, archive, hidden: the recorded page answers each
        assert [b["visibility"] for b in sent] == ["timeline", "archive", "hidden"]
    else:
        # The recording: without visibility 3.1 returns timeline + archive + hidden in one walk.
        # (The recorded items are trimmed; its note counts 278 timeline + 24 archive + 6 hidden.)
        assert len(pages) == 1
        assert len(sent) == 1 and "visibility" not in sent[0]
    assert all(isinstance(b["page"], int) and "filter" not in b for b in sent)


def _replay_call(client: ImmichClient, request: dict[str, Any]) -> None:
    path = urlsplit(request["uri"]).path.removeprefix("/api")
    body = json.loads(request["body"]) if request["body"] else None
    client.request(request["method"], path, json=body, expect=(200, 201, 204))


ERROR_CLASSES = {
    "error_400_bad_body_tags_assets": BadRequest,
    "error_400_bulk_put_unknown_ids": NotFound,
    "error_400_invalid_json": BadRequest,
    "error_400_malformed_uuid": BadRequest,
    "error_400_search_size_too_big": BadRequest,
    "error_400_unknown_album": NotFound,
    "error_400_unknown_asset_get": NotFound,
    "error_400_unknown_asset_put": NotFound,
    "error_400_unknown_tag": NotFound,
    "error_401_bad_api_key": AuthenticationFailed,
    "error_401_no_auth": AuthenticationFailed,
    "error_403_missing_permission": PermissionDenied,
    "error_404_unknown_route": UnsupportedServer,
    "error_bulk_put_date_and_relative": BadRequest,
    "tags_create_conflict": BadRequest,
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(ERROR_CLASSES))
def test_every_recorded_error_through_the_client(play: Any, version: str, name: str) -> None:
    with play(version, name), pytest.raises(ImmichError) as info:
        _replay_call(_client(), cassette_interactions(version, name)[-1]["request"])
    assert type(info.value) is ERROR_CLASSES[name]
    text = str(info.value)
    assert "\n" not in text and API_KEY not in text and len(text) < 400


@pytest.mark.parametrize("version", VERSIONS)
def test_typed_methods_raise_typed_errors(play: Any, version: str) -> None:
    with play(version, "error_401_bad_api_key"), pytest.raises(AuthenticationFailed, match="Invalid API key"):
        _client().me()
    with play(version, "error_403_missing_permission"), pytest.raises(PermissionDenied) as denied:
        _client().list_albums()
    assert denied.value.permission == "album.read"
    with play(version, "error_400_unknown_asset_get"), pytest.raises(NotFound):
        _client().get_asset(_path_id(version, "error_400_unknown_asset_get"))
    with play(version, "error_400_search_size_too_big"), pytest.raises(BadRequest, match="size"):
        list(_client().search_raw({"size": 5000}))


_ALLOWED_REQUEST_HEADERS = {
    "accept",
    "content-type",
    "user-agent",
    "content-length",
    "host",
    "accept-encoding",
    "connection",
}
_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{32,}")


def _cassette_files() -> list[Path]:
    files = sorted(CASSETTES.glob("v*/*.yaml"))
    assert len(files) > 100
    return files


def test_no_cassette_holds_a_key() -> None:
    for path in _cassette_files():
        text = path.read_text()
        assert API_KEY not in text
        for inter in yaml.safe_load(text)["interactions"]:
            req, resp = inter["request"], inter["response"]
            names = {h.lower() for h in req["headers"]} | {h.lower() for h in resp["headers"]}
            assert not names & set(SECRET_HEADERS), (path, names)
            assert {h.lower() for h in req["headers"]} <= _ALLOWED_REQUEST_HEADERS, path
            for value in (v for vs in req["headers"].values() for v in vs):
                assert not _TOKENISH.search(value), (path, value)
            for key, value in parse_qsl(urlsplit(req["uri"]).query):
                assert key not in SECRET_PARAMS or value == "REDACTED", (path, key)
            body = resp["body"]["string"]
            for match in re.finditer(r'"(key|apiKey|secret|token|accessToken)":"([^"]*)"', body):
                assert match.group(2) in ("", "REDACTED"), (path, match.group(0))


def test_both_versions_have_the_same_cassettes_for_the_client() -> None:
    names = {v: {p.stem for p in (CASSETTES / f"v{v}").glob("*.yaml")} for v in VERSIONS}
    needed = {"server_version", "users_me", "albums_list", "tags_list", "search_paging", *ERROR_CLASSES}
    for version in VERSIONS:
        assert needed <= names[version], needed - names[version]


# ---------------------------------------------------------------- cassettes recorded live (make cassettes)
def _live_cassettes() -> list[Any]:
    found = sorted(CASSETTES.glob("*/live_*.yaml"))
    if not found:
        why = "no live cassettes yet: `make cassettes IMMICH_URL=... IMMICH_API_KEY=...` records them"
        return [pytest.param(None, id="none-recorded", marks=pytest.mark.skip(reason=why))]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}") for p in found]


@pytest.mark.parametrize("path", _live_cassettes())
def test_live_cassette_replays(path: Path | None) -> None:
    """Whatever `make cassettes` recorded from a real server, the client reads it with the same call."""
    assert path is not None
    with PLAYER.use_cassette(str(path)):
        record.LIVE_CALLS[path.stem.removeprefix("live_")](_client())


@pytest.mark.parametrize("version", ["2.7.5", "3.1.0", "3.2.2"])
def test_live_recording_round_trip(tmp_path: Path, version: str) -> None:
    """`make cassettes` against a server (here the fake), then every cassette replays with the client."""
    with running_fake_server(generate_library(20, seed=3), version=version) as (url, key):
        written = record.live(tmp_path, url, key)
    assert sorted(p.stem.removeprefix("live_") for p in written) == sorted(record.LIVE_CALLS)
    player = vcr.VCR(cassette_library_dir=str(tmp_path), record_mode="none", match_on=("method", "path", "query"))
    for path in written:
        with player.use_cassette(str(path)) as cassette:
            record.LIVE_CALLS[path.stem.removeprefix("live_")](_client())
        assert cassette.all_played, path.name
