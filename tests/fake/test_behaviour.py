"""Behaviour of the fake that the contract tests cannot show with a few recorded answers."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from immich_mirror.fake import FakeLibrary, create_app
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.serialize import fmt_z
from tests.helpers import stepping_clock

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"

KEY = {"x-api-key": "fake-api-key"}


def client(lib: FakeLibrary, version: str = "3.1.0") -> TestClient:
    return TestClient(create_app(lib, version=version), headers=KEY)


def walk(c: TestClient, body: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    page: int | None = 1
    while page:
        answer = c.post("/api/search/metadata", json={**body, "page": page}).json()["assets"]
        ids += [item["id"] for item in answer["items"]]
        page = int(answer["nextPage"]) if answer["nextPage"] else None
    return ids


@pytest.fixture(scope="module")
def big() -> FakeLibrary:
    return generate_library(2500, seed=7)


@pytest.mark.parametrize("version", ["2.7.5", "3.1.0"])
def test_paging_has_no_overlap_and_no_gaps(big: FakeLibrary, version: str) -> None:
    c = client(big, version)
    ids = walk(c, {"size": 333, "visibility": "timeline"})
    expected = {a.id for a in big.assets.values() if a.visibility == "timeline" and not a.is_trashed}
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected


def test_page_size_over_1000_is_400() -> None:
    c = client(FakeLibrary())
    assert c.post("/api/search/metadata", json={"size": 1001}).status_code == 400
    assert c.post("/api/search/metadata", json={"size": 1000}).status_code == 200


def test_default_visibility_per_version() -> None:
    lib = FakeLibrary()
    for vis in ("timeline", "archive", "hidden", "locked"):
        lib.add_asset(f"{vis}.jpg", visibility=vis)
    lib.trash([lib.add_asset("trashed.jpg").id])
    seen = {v: {i["originalFileName"] for i in client(lib, v).post("/api/search/metadata", json={})
                .json()["assets"]["items"]} for v in ("2.7.5", "3.1.0")}
    assert seen["2.7.5"] == {"timeline.jpg"}
    assert seen["3.1.0"] == {"timeline.jpg", "archive.jpg", "hidden.jpg"}


def test_page_as_string_coerced_on_v2_rejected_on_v3() -> None:
    lib = FakeLibrary()
    assert client(lib, "2.7.5").post("/api/search/metadata", json={"page": "1"}).status_code == 200
    assert client(lib, "3.1.0").post("/api/search/metadata", json={"page": "1"}).status_code == 400


def test_tag_search_matches_descendants_and_is_and() -> None:
    lib = FakeLibrary()
    a, b, c_ = (lib.add_asset(f"{n}.jpg").id for n in "abc")
    alice = lib.create_tag("people/alice")
    paris = lib.create_tag("places/paris")
    people = lib.tag_by_value("people")
    assert people is not None
    lib.tag_assets([alice.id], [a, b])
    lib.tag_assets([paris.id], [b, c_])
    c = client(lib)
    assert set(walk(c, {"tagIds": [people.id]})) == {a, b}
    assert set(walk(c, {"tagIds": [people.id, paris.id]})) == {b}
    # Direct tags only in GET /assets/{id}.
    assert [t["value"] for t in c.get(f"/api/assets/{a}").json()["tags"]] == ["people/alice"]


def test_people_only_where_a_test_put_them() -> None:
    lib = FakeLibrary()
    a, b, c_ = (lib.add_asset(f"{n}.jpg").id for n in "abc")
    alice = lib.add_person("Alice", [a, b])
    bob = lib.add_person("Bob", [b, c_])
    c = client(lib)
    assert set(walk(c, {"personIds": [alice.id]})) == {a, b}
    assert set(walk(c, {"personIds": [alice.id, bob.id]})) == {b}
    assert {p["name"] for p in c.get("/api/people").json()["people"]} == {"Alice", "Bob"}
    new = client(lib, "3.2.2").post("/api/search/metadata", json={"filter": {"personIds": {"any": [bob.id]}}})
    assert {i["id"] for i in new.json()["assets"]["items"]} == {b, c_}


def test_updated_after_is_inclusive_and_catches_changes() -> None:
    # One second per reading of the clock, so x and y are stamped apart.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = itertools.count()
    lib = FakeLibrary(clock=lambda: start + timedelta(seconds=next(seconds)))
    x = lib.add_asset("x.jpg")
    y = lib.add_asset("y.jpg")
    c = client(lib)
    assert walk(c, {"updatedAfter": y.updated_at.isoformat()}) == [y.id]
    lib.set_favorite([x.id], True)
    assert set(walk(c, {"updatedAfter": y.updated_at.isoformat()})) == {x.id, y.id}


def test_album_lists_per_version() -> None:
    lib = FakeLibrary()
    friend = lib.add_user("f@example.com", "Friend")
    mine = lib.create_album("Mine")
    linked = lib.create_album("Linked")
    lib.create_shared_link(linked.id)
    theirs = lib.create_album("Theirs", owner_id=friend.id)
    lib.share_album(theirs.id, lib.owner_id)

    def names(version: str, query: str = "") -> set[str]:
        return {a["albumName"] for a in client(lib, version).get(f"/api/albums{query}").json()}

    assert names("2.7.5") == {"Mine", "Linked"}
    assert names("2.7.5", "?shared=true") == {"Linked", "Theirs"}
    assert names("2.7.5", "?isOwned=false") == {"Mine", "Linked"}
    assert names("3.1.0") == {"Mine", "Linked", "Theirs"}
    assert names("3.1.0", "?shared=true") == {"Mine", "Linked", "Theirs"}
    assert names("3.1.0", "?isOwned=false") == {"Theirs"}
    assert names("3.1.0", "?isOwned=true") == {"Mine", "Linked"}
    v2 = client(lib, "2.7.5").get(f"/api/albums/{mine.id}").json()
    v3 = client(lib, "3.1.0").get(f"/api/albums/{mine.id}").json()
    assert {"owner", "ownerId", "assets"} <= set(v2)
    assert not {"owner", "ownerId", "assets"} & set(v3)
    assert v3["albumUsers"][0]["role"] == "owner"


@pytest.mark.parametrize("version", ["2.7.5", "3.1.0"])
def test_album_triple_moves_as_recorded(version: str) -> None:
    """Replays ``albums_list_triple_steps.json``: the album's (updatedAt, assetCount,
    lastModifiedAssetTimestamp) as ``GET /albums`` lists it after each step, at once and after the jobs."""
    steps = json.loads((RECORDINGS / f"v{version}" / "albums_list_triple_steps.json").read_text())["body"]
    lib = FakeLibrary(version=version, clock=stepping_clock(), jobs="manual")
    old = lib.add_asset("old.jpg")  # older than every member: its addition leaves the timestamp alone
    members = [lib.add_asset(f"m{i}.jpg").id for i in range(27)]
    album = lib.create_album("A", members)
    tag = lib.create_tag("meme")
    c = client(lib, version)

    def triple() -> tuple[str, int, str]:
        (listed,) = [a for a in c.get("/api/albums").json() if a["id"] == album.id]
        return listed["updatedAt"], listed["assetCount"], listed["lastModifiedAssetTimestamp"]

    seen = [triple()]
    c.put("/api/tags/assets", json={"tagIds": [tag.id], "assetIds": members[:5]})
    seen.append(triple())
    lib.settle()
    seen.append(triple())
    c.put(f"/api/albums/{album.id}/assets", json={"ids": [old.id]})
    seen.append(triple())
    lib.settle()
    seen.append(triple())
    c.request("DELETE", f"/api/albums/{album.id}/assets", json={"ids": [old.id]})
    seen.append(triple())
    lib.settle()
    seen.append(triple())
    assert len(seen) == len(steps)

    def moves(rows: list[tuple[Any, ...]]) -> list[tuple[bool, ...]]:
        return [tuple(a != b for a, b in zip(x, y, strict=True)) for x, y in itertools.pairwise(rows)]

    recorded = [(s["updatedAt"], s["assetCount"], s["lastModifiedAssetTimestamp"]) for s in steps]
    assert moves(seen) == moves(recorded)
    assert [s[1] for s in seen] == [27, 27, 27, 28, 28, 27, 27]
    assert old.updated_at < min(lib.assets[m].updated_at for m in members)  # membership never reaches it


def test_album_counts_only_what_immich_counts() -> None:
    # Trashed and hidden members are linked but neither counted nor in the timestamp (getMetadataForIds).
    lib = FakeLibrary(clock=stepping_clock())
    kept, trashed, hidden = (lib.add_asset(f"{n}.jpg") for n in ("kept", "trashed", "hidden"))
    album = lib.create_album("A", [kept.id, trashed.id, hidden.id])
    lib.trash([trashed.id])
    lib.set_visibility([hidden.id], "hidden")
    listed = client(lib).get(f"/api/albums/{album.id}").json()
    assert listed["assetCount"] == 1
    assert listed["lastModifiedAssetTimestamp"] == fmt_z(kept.updated_at)


def test_the_jobs_after_a_tag_write_move_every_tag_the_asset_carries() -> None:
    # The re-extraction upserts each sidecar tag path part by path part (metadata.service applyTagList):
    # a tag the tool never wrote, and its parents, move because the tool wrote another tag on the asset.
    lib = FakeLibrary(jobs="manual", clock=stepping_clock())
    asset, other = lib.add_asset("a.jpg"), lib.add_asset("b.jpg")
    alice, marker, elsewhere = lib.create_tag("people/alice"), lib.create_tag("marker"), lib.create_tag("x")
    people = lib.tags[alice.parent_id or ""]
    lib.tag_assets([alice.id], [asset.id])
    lib.tag_assets([elsewhere.id], [other.id])
    lib.settle()
    before = {t.id: t.updated_at for t in lib.tags.values()}
    client(lib).put("/api/tags/assets", json={"tagIds": [marker.id], "assetIds": [asset.id]})
    assert [t.id for t in lib.tags.values() if t.updated_at != before[t.id]] == [marker.id]  # at once
    lib.settle()
    moved = {t.id for t in lib.tags.values() if t.updated_at != before[t.id]}
    assert moved == {marker.id, alice.id, people.id}
    assert lib.tags[elsewhere.id].updated_at == before[elsewhere.id]


def test_tag_write_bumps_asset_after_jobs_and_tag_at_once() -> None:
    lib = FakeLibrary(jobs="manual", clock=stepping_clock())
    asset = lib.add_asset("a.jpg")
    tag = lib.create_tag("meme")
    before_asset, before_tag = asset.updated_at, tag.updated_at
    c = client(lib)
    assert c.put("/api/tags/assets", json={"tagIds": [tag.id], "assetIds": [asset.id]}).json() == {"count": 1}
    assert tag.updated_at > before_tag
    assert asset.updated_at == before_asset
    lib.settle()
    assert asset.updated_at > before_asset
    assert c.put("/api/tags/assets", json={"tagIds": [tag.id], "assetIds": [asset.id]}).json() == {"count": 0}


def test_date_edit_exif_at_once_timeline_after_jobs() -> None:
    lib = FakeLibrary(jobs="manual")
    asset = lib.add_asset("IMG-20200101-WA0001.jpg", file_created_at=datetime(2024, 3, 1, tzinfo=UTC))
    c = client(lib)
    edit = {"dateTimeOriginal": "2019-04-12T15:30:00.000+02:00"}
    answer = c.put(f"/api/assets/{asset.id}", json=edit).json()
    assert answer["exifInfo"]["dateTimeOriginal"] == "2019-04-12T13:30:00+00:00"
    assert answer["exifInfo"]["timeZone"] == "UTC+2"
    assert answer["fileCreatedAt"].startswith("2024-03-01")
    lib.settle()
    got = c.get(f"/api/assets/{asset.id}").json()
    assert got["fileCreatedAt"] == "2019-04-12T13:30:00.000Z"
    assert got["localDateTime"] == "2019-04-12T15:30:00.000Z"
    # dateTimeRelative is in minutes; an IANA zone becomes Immich's offset label.
    assert c.put("/api/assets", json={"ids": [asset.id], "dateTimeRelative": 3600,
                                      "timeZone": "Europe/Berlin"}).status_code == 204
    lib.settle()
    assert asset.date_time_original == datetime(2019, 4, 12, 13, 30, tzinfo=UTC) + timedelta(hours=60)
    assert asset.time_zone == "UTC+2"


def test_unknown_ids_and_scopes() -> None:
    lib = FakeLibrary()
    lib.add_api_key(secret="read-only", permissions=["asset.read"])
    c = client(lib)
    missing = "00000000-0000-4000-8000-000000000000"
    assert c.get(f"/api/assets/{missing}").json()["message"] == "Not found or no asset.read access"
    assert c.put("/api/assets", json={"ids": [missing], "isFavorite": True}).status_code == 400
    limited = TestClient(create_app(lib), headers={"x-api-key": "read-only"})
    answer = limited.get("/api/tags")
    assert (answer.status_code, answer.json()["message"]) == (403, "Missing required permission: tag.read")
    assert client(lib, "3.1.0").get("/api/assets/e47715d9-38db-54b0-934f-bb1174d5bed7").status_code == 400
    assert client(lib, "2.7.5").get("/api/assets/e47715d9-38db-54b0-934f-bb1174d5bed7").status_code == 400
    assert TestClient(create_app(lib)).get("/api/users/me").status_code == 401


def test_partner_assets_in_search_not_in_statistics() -> None:
    lib = FakeLibrary()
    friend = lib.add_user("f@example.com", "Friend")
    lib.add_partner(friend.id)
    lib.add_asset("mine.jpg")
    lib.add_asset("theirs.jpg", owner_id=friend.id)
    c = client(lib)
    assert len(walk(c, {})) == 2
    assert c.get("/api/assets/statistics").json()["total"] == 1


def test_v322_cursor_body() -> None:
    lib = FakeLibrary()
    for i in range(5):
        lib.add_asset(f"{i}.jpg", visibility="archive" if i % 2 else "timeline")
    lib.trash([next(iter(lib.assets))])
    c = client(lib, "3.2.2")
    seen: list[str] = []
    body: dict[str, Any] = {"filter": {"trashedAt": {"eq": None}}, "orderBy": {"field": "fileCreatedAt"},
                            "size": 2}
    while True:
        answer = c.post("/api/search/metadata", json=body).json()["assets"]
        assert answer["nextPage"] is None
        seen += [i["id"] for i in answer["items"]]
        if not answer["nextCursor"]:
            break
        body["cursor"] = answer["nextCursor"]
    assert len(seen) == len(set(seen)) == 4
    archived = c.post("/api/search/metadata", json={"filter": {"visibility": {"eq": "archive"}}}).json()
    assert {i["visibility"] for i in archived["assets"]["items"]} == {"archive"}
    # 3.1.0 silently ignores the new body (recorded).
    new_body = {"filter": {"visibility": {"eq": "archive"}}}
    ignored = client(lib, "3.1.0").post("/api/search/metadata", json=new_body)
    assert "nextCursor" not in ignored.json()["assets"]
    assert {i["visibility"] for i in ignored.json()["assets"]["items"]} == {"timeline", "archive"}


def test_queues_admin_only() -> None:
    lib = FakeLibrary()
    user = lib.add_user("u@example.com", "User")
    lib.add_api_key(user.id, secret="user-key")
    assert client(lib).get("/api/queues").status_code == 200
    as_user = TestClient(create_app(lib), headers={"x-api-key": "user-key"})
    assert as_user.get("/api/queues").status_code == 403


@pytest.mark.parametrize("folder", ["v2.7.5", "v3.1.0"])
def test_people_list_has_the_recorded_shape_with_people_in_it(folder: str) -> None:
    """The recordings list no people (machine learning was off): the envelope is theirs, each item's
    keys are PersonResponseDto's (openapi-v2.7.5.json), and paging and hiding are person.repository.ts'."""
    recorded = json.loads((RECORDINGS / folder / "people_list.json").read_text())["body"]
    lib = FakeLibrary(clock=stepping_clock())
    ids = [lib.add_asset(f"{i}.jpg").id for i in range(6)]
    lib.add_person("Alice", ids[:2])
    lib.add_person("Bob", ids[2:3], is_hidden=True)
    lib.add_person("", ids[3:6])  # unnamed with three faces: listed
    lib.add_person("", ids[:1])  # unnamed with one face: not listed
    lib.add_person("Nobody")  # no face at all: not listed
    c = client(lib, folder[1:])
    body = c.get("/api/people").json()
    assert set(body) == set(recorded) and isinstance(body["hasNextPage"], bool)
    assert [p["name"] for p in body["people"]] == ["Alice", ""]
    assert (body["total"], body["hidden"]) == (3, 1)
    required = {"birthDate", "id", "isHidden", "name", "thumbnailPath"}
    assert all(required <= set(p) <= required | {"color", "isFavorite", "updatedAt"} for p in body["people"])
    every = c.get("/api/people", params={"withHidden": "true"}).json()["people"]
    assert [(p["name"], p["isHidden"]) for p in every] == [("Alice", False), ("", False), ("Bob", True)]
    first = c.get("/api/people", params={"withHidden": "true", "size": 2}).json()
    second = c.get("/api/people", params={"withHidden": "true", "size": 2, "page": 2}).json()
    assert first["hasNextPage"] and not second["hasNextPage"]
    assert [p["id"] for p in first["people"] + second["people"]] == [p["id"] for p in every]
    assert c.get("/api/people", params={"size": 1001}).status_code == 400


def test_served_fake_sends_one_date_header_never_behind_the_stamps_it_gave() -> None:
    import httpx

    from immich_mirror.fake.runner import running_fake_server

    lib = generate_library(30, seed=3)
    with running_fake_server(lib) as (url, key), httpx.Client(base_url=url, headers={"x-api-key": key}) as http:
        asset = next(iter(lib.assets))
        tag = http.post("/api/tags", json={"name": "stamped"}).json()
        for _ in range(5):
            http.put(f"/api/tags/{tag['id']}/assets", json={"ids": [asset]})
            http.request("DELETE", f"/api/tags/{tag['id']}/assets", json={"ids": [asset]})
            answer = http.get(f"/api/assets/{asset}")
            (date,) = answer.headers.get_list("date")
            stamp = datetime.fromisoformat(answer.json()["updatedAt"].replace("Z", "+00:00"))
            assert parsedate_to_datetime(date) >= stamp.replace(microsecond=0)
        before = datetime.now(UTC).replace(microsecond=0)
        (date,) = http.get("/api/nowhere").headers.get_list("date")  # errors too
        assert before <= parsedate_to_datetime(date) <= datetime.now(UTC)
