"""The fake's search reads about as many assets as a selective query returns, not the library.

No timings here (those belong in benchmarks): the engine counts the assets its predicates read
(`SearchEngine.examined`), and the same queries answered by a full scan must give the same rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.http_errors import ApiFailure
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.search import SearchEngine
from immich_mirror.fake.state import fmt_z

N_ASSETS = 20_000


@pytest.fixture(scope="module")
def big() -> FakeLibrary:
    return generate_library(N_ASSETS, seed=7, version="3.2.2")


def _examined(engine: SearchEngine, body: dict[str, Any], user_id: str) -> tuple[int, list[str]]:
    before = engine.examined
    ids = [a.id for a in engine.rows(user_id, body)]
    return engine.examined - before, ids


def _closure_members(lib: FakeLibrary, tag_id: str) -> set[str]:
    return {aid for sub in lib.descendants(tag_id) for aid in lib.tag_members[sub]}


def test_tag_query_reads_the_tag_closure_not_the_library(big: FakeLibrary) -> None:
    engine = SearchEngine(big, "3.1.0")
    parent = big.tag_by_value("people")
    assert parent is not None
    members = _closure_members(big, parent.id)
    read, rows = _examined(engine, {"tagIds": [parent.id], "visibility": "archive"}, big.owner_id)
    assert 0 < len(members) < N_ASSETS // 10
    assert read == len(members)
    assert set(rows) <= members


def test_two_tags_read_their_intersection(big: FakeLibrary) -> None:
    engine = SearchEngine(big, "3.1.0")
    alice, paris = big.tag_by_value("people/alice"), big.tag_by_value("places/paris")
    assert alice is not None and paris is not None
    both = _closure_members(big, alice.id) & _closure_members(big, paris.id)
    read, rows = _examined(engine, {"tagIds": [alice.id, paris.id]}, big.owner_id)
    assert read == len(both)
    assert set(rows) <= both


def test_updated_after_the_newest_change_reads_nothing(big: FakeLibrary) -> None:
    engine = SearchEngine(big, "3.1.0")
    newest = max(a.updated_at for a in big.assets.values())
    for visibility in ("timeline", "archive", "hidden"):
        body = {"updatedAfter": fmt_z(newest + timedelta(seconds=1)), "visibility": visibility}
        assert _examined(engine, body, big.owner_id) == (0, [])
    body32 = {"filter": {"updatedAt": {"gt": fmt_z(newest)}}}
    assert _examined(SearchEngine(big, "3.2.2"), body32, big.owner_id) == (0, [])


def test_updated_after_reads_only_the_changed_assets() -> None:
    lib = generate_library(N_ASSETS // 4, seed=8)
    engine = SearchEngine(lib, "3.1.0")
    since = max(a.updated_at for a in lib.assets.values()) + timedelta(seconds=1)
    changed = [a.id for a in list(lib.assets.values())[:: len(lib.assets) // 5]]
    rebuilds = engine.dates.rebuilds
    for aid in changed:
        lib.update_asset(aid, is_favorite=True)
    assert engine.dates.rebuilds == rebuilds  # a change only bumps the revision: the index waits
    body = {"updatedAfter": fmt_z(since), "withDeleted": True, "visibility": "timeline"}
    read, rows = _examined(engine, body, lib.owner_id)
    visible = {aid for aid in changed if lib.assets[aid].visibility == "timeline"}
    assert read == len(changed)
    assert set(rows) == visible
    assert engine.dates.rebuilds == rebuilds + 1


def test_id_and_album_queries_read_their_own_assets(big: FakeLibrary) -> None:
    engine = SearchEngine(big, "3.2.2")
    asset = next(iter(big.assets.values()))
    assert _examined(engine, {"id": asset.id, "withDeleted": True}, big.owner_id) == (1, [asset.id])
    assert _examined(engine, {"filter": {"id": {"eq": asset.id}}}, big.owner_id)[0] == 1
    album = max(big.albums.values(), key=lambda al: len(al.members))
    read, rows = _examined(engine, {"albumIds": [album.id]}, big.owner_id)
    assert read == len(album.members) < N_ASSETS // 10
    assert set(rows) <= set(album.members)


def test_result_cache_stays_bounded(big: FakeLibrary) -> None:
    engine = SearchEngine(big, "3.1.0")
    for tag_id in list(big.tags)[:20]:
        engine.search(big.owner_id, {"tagIds": [tag_id]})
    assert engine.cached_queries <= 8


def _queries(lib: FakeLibrary) -> list[dict[str, Any]]:
    tags = sorted(lib.tags)
    albums = sorted(lib.albums)
    dates = sorted(a.updated_at for a in lib.assets.values())
    middle, late = fmt_z(dates[len(dates) // 2]), fmt_z(dates[-3])
    taken = fmt_z(sorted(a.file_created_at for a in lib.assets.values())[len(dates) // 3])
    some = [a.id for a in list(lib.assets.values())[:5]]
    return [
        {"tagIds": [tags[0]]}, {"tagIds": tags[1:3]}, {"tagIds": [tags[4]], "visibility": "archive"},
        {"tagIds": None, "updatedAfter": late}, {"albumIds": albums[:1], "updatedBefore": middle},
        {"albumIds": albums[:2]}, {"updatedAfter": middle, "withDeleted": True},
        {"updatedAfter": late, "updatedBefore": late}, {"takenBefore": taken, "tagIds": [tags[0]]},
        {"trashedAfter": middle}, {"id": some[0]}, {"id": 42}, {"createdAfter": middle, "isFavorite": False},
        {"filter": {"updatedAt": {"gte": middle, "lt": late}}},
        {"filter": {"updatedAt": {"eq": late}}}, {"filter": {"updatedAt": {"ne": late}, "tagIds": {"none": tags}}},
        {"filter": {"tagIds": {"any": tags[:3]}, "visibility": {"eq": "timeline"}}},
        {"filter": {"tagIds": {"all": tags[:2]}}}, {"filter": {"id": {"in": [*some, 7]}}},
        {"filter": {"hasTags": {"eq": True}, "takenAt": {"lte": taken}}}, {"filter": {"hasAlbums": {"eq": True}}},
        {"filter": {"albumIds": {"any": albums[:3]}, "updatedAt": {"gt": middle}}},
        {"filter": {"or": [{"updatedAt": {"gte": late}}, {"tagIds": {"any": tags[:1]}}]}},
        {"filter": {"trashedAt": {"gte": middle}, "visibility": {"in": ["timeline", "archive"]}}},
    ]


def _answer(engine: SearchEngine, user_id: str, body: dict[str, Any]) -> list[str] | tuple[int, str]:
    try:
        return [a.id for a in engine.rows(user_id, body)]
    except ApiFailure as failure:
        return failure.status, str(failure)


@pytest.mark.parametrize("version", ["2.7.5", "3.1.0", "3.2.2"])
def test_sources_never_change_the_answer(version: str) -> None:
    lib = generate_library(2000, seed=9, version=version)
    lib.trash(list(lib.assets)[:40])
    lib.update_asset(list(lib.assets)[50], is_favorite=True)
    indexed, scanning = SearchEngine(lib, version), SearchEngine(lib, version)
    scanning.use_sources = False
    checked = 0
    for body in _queries(lib):
        if "filter" in body and version < "3.2":
            continue
        for user_id in (lib.owner_id, next(u for u in lib.users if u != lib.owner_id)):
            assert _answer(indexed, user_id, body) == _answer(scanning, user_id, body), body
            checked += 1
    assert checked >= 20
