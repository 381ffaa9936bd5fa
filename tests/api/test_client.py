"""ImmichClient behaviour over httpx.MockTransport: paging, chunking, dialects, shapes, counters."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; the httpx flavour is what the lead passes in.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from immich_mirror.api.client import ImmichClient, open_client
from immich_mirror.errors import ConfigError, UnexpectedResponse, UnsupportedServer

from .conftest import API_KEY, BASE, Recorder, json_response

MakeClient = Callable[..., tuple[ImmichClient, Recorder]]


def _item(i: int) -> dict[str, Any]:
    return {"id": f"a{i}", "visibility": "timeline"}


def _search_result(
    items: list[dict[str, Any]], next_page: str | None = None, next_cursor: str | None = None
) -> dict[str, Any]:
    assets = {"total": len(items), "count": len(items), "items": items, "facets": [], "nextPage": next_page}
    if next_cursor is not None:
        assets["nextCursor"] = next_cursor
    return {"albums": {"total": 0, "count": 0, "items": [], "facets": []}, "assets": assets}


def test_flat_search_walks_each_visibility_with_integer_pages(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert isinstance(body["page"], int)
        if body["page"] == 1:
            return json_response(200, _search_result([_item(1), _item(2)], next_page="2"))
        return json_response(200, _search_result([_item(3)], next_page=None))

    client, rec = make_client(handler, version=(2, 7, 5))
    pages = list(
        client.search_assets(visibility=None, size=2, updated_after=datetime(2026, 1, 1, tzinfo=UTC))
    )
    assert len(pages) == 6  # 3 visibilities x 2 pages
    bodies = rec.bodies()
    assert [b["visibility"] for b in bodies] == [
        "timeline",
        "timeline",
        "archive",
        "archive",
        "hidden",
        "hidden",
    ]
    assert [b["page"] for b in bodies] == [1, 2, 1, 2, 1, 2]
    assert bodies[0]["updatedAfter"] == "2026-01-01T00:00:00.000Z"
    assert bodies[0]["withDeleted"] is False and bodies[0]["withExif"] is True
    assert not any(k in bodies[0] for k in ("filter", "orderBy", "cursor"))


def test_v31_walks_every_visibility_at_once(make_client: MakeClient) -> None:
    # 3.0/3.1 return timeline + archive + hidden for a body without visibility (recorded): one walk.
    client, rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=(3, 1, 0))
    list(client.search_assets(visibility=None, album_ids=["al"], with_deleted=True))
    (body,) = rec.bodies()
    assert "visibility" not in body and body["albumIds"] == ["al"] and body["withDeleted"] is True
    assert "filter" not in body


def test_v31_never_gets_the_structured_body(make_client: MakeClient) -> None:
    client, rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=(3, 1, 0))
    list(client.search_assets(visibility="archive", tag_ids=["t1"], album_ids=["al"], person_ids=["p"]))
    (body,) = rec.bodies()
    assert body["visibility"] == "archive" and body["tagIds"] == ["t1"] and body["albumIds"] == ["al"]
    assert "filter" not in body


def test_a_newer_server_works_with_one_warning(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    client, _rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=(3, 9, 0))
    list(client.search_assets(visibility="archive"))
    list(client.search_assets(visibility="timeline"))
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "newer than the newest" in r.message]
    assert len(warned) == 1 and "3.9.0" in warned[0].getMessage()
    caplog.clear()
    known, _rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=(3, 2, 2))
    list(known.search_assets(visibility="archive"))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_v32_uses_filter_and_cursor(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "cursor" not in body:
            return json_response(200, _search_result([_item(1)], next_page=None, next_cursor="c2"))
        assert body["cursor"] == "c2"
        return json_response(200, _search_result([_item(2)], next_page=None, next_cursor=None))

    client, rec = make_client(handler, version=(3, 2, 2))
    pages = list(
        client.search_assets(
            visibility=None,
            tag_ids=["t1"],
            with_deleted=False,
            updated_after=datetime(2026, 8, 1, 2, tzinfo=UTC),
        )
    )
    assert [[a["id"] for a in p] for p in pages] == [["a1"], ["a2"]]
    first = rec.bodies()[0]
    assert first["filter"] == {
        "visibility": {"in": ["timeline", "archive", "hidden"]},
        "trashedAt": {"eq": None},
        "updatedAt": {"gte": "2026-08-01T02:00:00.000Z"},
        "tagIds": {"all": ["t1"]},
    }
    assert first["orderBy"] == {"field": "fileCreatedAt", "direction": "asc"}
    assert "page" not in first and "visibility" not in first


def test_v32_with_deleted_drops_the_trash_filter(make_client: MakeClient) -> None:
    client, rec = make_client(lambda r: json_response(200, _search_result([])), version=(3, 2, 0))
    list(client.search_assets(visibility="timeline", with_deleted=True))
    assert rec.bodies()[0]["filter"] == {"visibility": {"in": ["timeline"]}}


def test_search_raw_converts_string_page_and_refuses_new_shape_on_31(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert isinstance(body["page"], int)
        return json_response(
            200,
            _search_result(
                [_item(body["page"])], next_page=None if body["page"] > 2 else str(body["page"] + 1)
            ),
        )

    client, rec = make_client(handler, version=(3, 1, 0))
    pages = list(client.search_raw({"page": "2", "isFavorite": True, "visibility": "archive"}))
    assert [b["page"] for b in rec.bodies()] == [2, 3]
    assert rec.bodies()[0]["size"] == 1000 and len(pages) == 2
    with pytest.raises(UnsupportedServer, match=r"3\.2 filter syntax"):
        list(client.search_raw({"filter": {"isFavorite": {"eq": True}}}))


Version = tuple[int, int, int]


@pytest.mark.parametrize("version", [(2, 7, 5), (3, 1, 0), (3, 2, 0)])
def test_a_pasted_search_without_visibility_asks_for_each(make_client: MakeClient, version: Version) -> None:
    # The servers' defaults differ (2.x: timeline only): the same link must mean the same assets.
    client, rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=version)
    list(client.search_raw({"originalFileName": "IMG"} if version < (3, 2, 0) else {"filter": {}}))
    bodies = rec.bodies()
    if version < (3, 0, 0):
        assert [b["visibility"] for b in bodies] == ["timeline", "archive", "hidden"]
    elif version < (3, 2, 0):
        # 3.0/3.1 answer a body without visibility with all three (search_metadata_no_visibility.json).
        assert len(bodies) == 1 and "visibility" not in bodies[0]
    else:
        assert [b["filter"]["visibility"] for b in bodies] == [{"in": ["timeline", "archive", "hidden"]}]


def test_the_32_syntax_is_never_sent_to_31_even_as_extra(make_client: MakeClient) -> None:
    client, rec = make_client(lambda r: json_response(200, _search_result([_item(1)])), version=(3, 1, 0))
    with pytest.raises(UnsupportedServer, match=r"3\.2 search syntax"):
        list(client.search_assets(visibility="timeline", extra={"filter": {"isFavorite": {"eq": True}}}))
    assert rec.bodies() == []


def test_paging_guards_against_a_stuck_server(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: json_response(200, _search_result([_item(1)], next_page="1")))
    with pytest.raises(UnexpectedResponse, match="nextPage 1 after page 1"):
        list(client.search_assets(visibility="timeline"))


def test_naive_updated_after_is_refused(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: json_response(200, _search_result([])))
    with pytest.raises(ValueError, match="timezone-aware"):
        list(client.search_assets(visibility="timeline", updated_after=datetime(2026, 1, 1)))


def test_bulk_writes_are_chunked(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/api/assets":
            return httpx.Response(204)
        if request.url.path == "/api/tags/assets":
            return json_response(200, {"count": len(body["assetIds"])})
        return json_response(200, [{"id": i, "success": True} for i in body["ids"]])

    client, rec = make_client(handler)
    ids = [f"a{i}" for i in range(2500)]
    client.update_assets(ids, isFavorite=True)
    assert [len(b["ids"]) for b in rec.bodies()] == [1000, 1000, 500]
    assert all(b["isFavorite"] is True for b in rec.bodies())
    rec.requests.clear()
    assert len(client.add_assets_to_album("al1", ids)) == 2500
    assert len(client.remove_assets_from_album("al1", ids[:1001])) == 1001
    assert len(client.tag_assets("t1", ids[:10])) == 10
    assert len(client.untag_assets("t1", ids[:10])) == 10
    assert client.tag_assets_bulk(["t1", "t2"], ids) == 2500
    methods = [(r.method, r.url.path) for r in rec.requests]
    assert methods.count(("PUT", "/api/albums/al1/assets")) == 3
    assert methods.count(("DELETE", "/api/albums/al1/assets")) == 2
    assert methods.count(("PUT", "/api/tags/assets")) == 3
    assert client.tag_assets_bulk([], ids) == 0
    with pytest.raises(ValueError):
        client.update_assets(ids, ids=["x"])


def test_create_album_with_many_assets_adds_the_rest(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.method == "POST":
            return json_response(
                201,
                {
                    "id": "al1",
                    "albumName": body["albumName"],
                    "ownerId": "me",
                    "assetCount": len(body["assetIds"]),
                },
            )
        return json_response(200, [{"id": i, "success": True} for i in body["ids"]])

    client, rec = make_client(handler)
    album = client.create_album("Trip", asset_ids=[f"a{i}" for i in range(1200)])
    assert album.id == "al1" and album.owner_id == "me"
    assert [len(b.get("assetIds", b.get("ids", []))) for b in rec.bodies()] == [1000, 200]


@pytest.mark.parametrize(
    ("version", "shared", "params"),
    [
        ((2, 7, 5), False, {}),
        ((2, 7, 5), True, {"shared": "true"}),
        ((3, 1, 0), False, {"isOwned": "true"}),
        ((3, 1, 0), True, {"isOwned": "false"}),
    ],
)
def test_album_lists_are_explicit_per_dialect(
    make_client: MakeClient, version: tuple[int, int, int], shared: bool, params: dict[str, str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/users/me":
            return json_response(200, {"id": "me", "email": "me@x", "name": "Me"})
        return json_response(
            200,
            [
                {"id": "mine", "albumName": "Mine", "ownerId": "me"},
                {
                    "id": "theirs",
                    "albumName": "Theirs",
                    "albumUsers": [
                        {"role": "owner", "user": {"id": "friend"}},
                        {"role": "viewer", "user": {"id": "me"}},
                    ],
                },
            ],
        )

    client, rec = make_client(handler, version=version)
    albums = client.list_albums(shared_with_me=shared)
    album_calls = [r for r in rec.requests if r.url.path == "/api/albums"]
    assert dict(album_calls[0].url.params) == params
    if version[0] == 2 and shared:
        assert [a.id for a in albums] == ["theirs"]  # my own shared album filtered out
    assert {a.id: a.owner_id for a in albums}.get("theirs", "friend") == "friend"


def test_get_album_asks_v2_not_to_embed_assets(make_client: MakeClient) -> None:
    client, rec = make_client(lambda r: json_response(200, {"id": "al", "albumName": "A"}), version=(2, 7, 5))
    client.get_album("al")
    assert rec.requests[0].url.params.get("withoutAssets") == "true"


def test_queues_none_for_non_admin_and_keyed_by_name(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: json_response(403, {"message": "Forbidden"}))
    assert client.queues() is None
    rows = [{"name": "sidecar", "isPaused": False, "statistics": {"active": 1, "waiting": 3}}]
    client, _ = make_client(lambda r: json_response(200, rows))
    queues = client.queues()
    assert queues is not None and queues["sidecar"]["statistics"]["waiting"] == 3


def test_wrong_shapes_are_unexpected_responses(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: json_response(200, {"not": "a list"}))
    with pytest.raises(UnexpectedResponse, match="expected a list of tags from GET /api/tags, got an object"):
        client.list_tags()
    client, _ = make_client(lambda r: json_response(200, [{"name": "no id"}]))
    with pytest.raises(UnexpectedResponse, match=r"expected a list of tags .*id"):
        client.list_tags()
    html = httpx.Response(200, html="<html><title>Authelia</title></html>")
    client, _ = make_client(lambda r: html)
    with pytest.raises(UnexpectedResponse, match=r"HTML page .*Authelia.*reverse-proxy"):
        client.me()
    client, _ = make_client(lambda r: json_response(200, {"albums": {}}))
    with pytest.raises(UnexpectedResponse, match=r"assets\.items"):
        list(client.search_assets(visibility="timeline"))
    client, _ = make_client(lambda r: json_response(200, {"res": "nope"}))
    with pytest.raises(UnexpectedResponse, match="pong"):
        client.ping()


def test_html_at_the_version_endpoint(make_client: MakeClient) -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, html="<!doctype html><title>Immich</title>")
    )
    client = ImmichClient(BASE, API_KEY, http=httpx.Client(transport=transport))
    with pytest.raises(UnexpectedResponse, match="expected the Immich version from GET /api/server/version"):
        client.server_version()


def test_too_old_server_is_refused(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: json_response(200, {}), version=(1, 135, 3))
    with pytest.raises(UnsupportedServer, match=r"Immich 1\.135\.3 is too old: autotag needs 2\.0 or newer"):
        client.list_tags()


def test_counters_key_header_and_server_date(make_client: MakeClient) -> None:
    stamp = "Wed, 25 Nov 2026 03:00:00 GMT"
    client, rec = make_client(lambda r: httpx.Response(200, json=[], headers={"date": stamp}))
    client.list_tags()
    assert client.requests == 2  # version + tags
    assert client.bytes_received > 0
    assert client.last_server_date == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert rec.requests[0].headers["x-api-key"] == API_KEY
    assert API_KEY not in repr(client)


def test_works_over_a_starlette_test_client_with_its_own_base_url() -> None:
    async def version(request: Request) -> JSONResponse:
        return JSONResponse({"major": 3, "minor": 1, "patch": 0, "prerelease": None})

    async def tags(request: Request) -> JSONResponse:
        assert request.headers["x-api-key"] == API_KEY
        return JSONResponse([{"id": "t", "name": "a", "value": "a"}])

    app = Starlette(routes=[Route("/api/server/version", version), Route("/api/tags", tags)])
    with TestClient(app, base_url="http://fake") as http:
        client = ImmichClient("http://fake", API_KEY, http=http)
        assert [t.value for t in client.list_tags()] == ["a"]
        assert client.dialect.family == "v3.0"


def test_open_client_builds_a_real_client() -> None:
    with open_client("nas:2283", API_KEY, insecure=True, timeout=12) as client:
        assert client.base_url == "http://nas:2283"
        http = client._http
        assert http.timeout.read == 12 and http.timeout.connect == 10
    with pytest.raises(ConfigError):
        open_client("http://http://nas", API_KEY)
