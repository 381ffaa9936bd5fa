"""Album members are listed again only when the album's membership can have moved (sync/albums.py).

The sync's overlap window is set to nothing here: a stamp inside it is listed again on purpose (two
changes in one millisecond), which is not what these tests are about (tests/sync/test_sync.py is).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from immich_mirror.api.client import ImmichClient
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync.runner import run_sync
from tests.helpers import assert_mirror_equals_server, fake_client


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setattr("immich_mirror.sync.assets.OVERLAP", timedelta(0))
    eng = open_db(tmp_path / "mirror.db")
    yield eng
    eng.dispose()


def listed_albums(client: ImmichClient) -> list[str]:
    """Record the album ids whose members the client searches from now on."""
    real = client.request
    seen: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        body = kw.get("json") or {}
        if path == "/search/metadata" and body.get("albumIds"):
            seen.extend(body["albumIds"])
        elif path == "/search/metadata" and "filter" in body and "albumIds" in body["filter"]:
            seen.extend(body["filter"]["albumIds"]["all"])
        return real(method, path, **kw)

    client.request = request  # type: ignore[method-assign]
    return seen


def _library() -> tuple[FakeLibrary, list[str]]:
    lib = FakeLibrary(seed=5)
    ids = [lib.add_asset(f"IMG_{i:03d}.jpg").id for i in range(20)]
    lib.create_album("2019-06-01 Beach", asset_ids=ids[:6])
    lib.create_album("Favourites", asset_ids=ids[4:10])
    lib.create_album("Empty")
    lib.trash(ids[9:10])  # a trashed member: linked, not counted
    return lib, ids


def _synced(version: str, engine: Engine) -> tuple[FakeLibrary, list[str], ImmichClient]:
    lib, ids = _library()
    client = fake_client(lib, version)
    run_sync(client, engine)
    run_sync(client, engine)  # a first listing happens anyway; from here on, only what moved
    return lib, ids, client


def _album(lib: FakeLibrary, name: str) -> str:
    return next(a.id for a in lib.albums.values() if a.name == name)


def test_tag_writes_on_members_list_no_album_again(engine: Engine, version: str) -> None:
    # The tool's own tag writes move lastModifiedAssetTimestamp of every album holding a tagged asset
    # (once the jobs bumped the asset); the asset pass read those bumps, so the mirror predicts it.
    lib, ids, client = _synced(version, engine)
    tag = lib.create_tag("autotag_output_unknown")
    lib.tag_assets([tag.id], ids[:10])
    seen = listed_albums(client)
    summary = run_sync(client, engine)
    assert summary.stats.assets.changed == 10  # the trashed one too: its updatedAt moved as well
    assert seen == []
    assert_mirror_equals_server(engine, lib)


def test_nothing_changed_lists_no_album(engine: Engine, version: str) -> None:
    _, _, client = _synced(version, engine)
    seen = listed_albums(client)
    run_sync(client, engine)
    assert seen == []


@pytest.mark.parametrize(
    "change",
    [
        "remove",  # assetCount only
        "remove+add",  # the count stays; updatedAt moves
        "remove+restore",  # the count and updatedAt stay; a trashed member came back
        "remove+unhide",  # the same with a hidden member made visible
        "remove newest+trash",  # the count drops as the mirror predicts, the timestamp does not
    ],
)
def test_every_membership_change_lists_the_album_again(engine: Engine, version: str, change: str) -> None:
    lib, ids, client = _synced(version, engine)
    fav = _album(lib, "Favourites")
    if change == "remove+unhide":
        lib.set_visibility(ids[8:9], "hidden")
        run_sync(client, engine)
    seen = listed_albums(client)
    if change == "remove newest+trash":
        lib.set_favorite(ids[5:6], True)  # ids[5] is the newest member now
        run_sync(client, engine)
        seen.clear()
        lib.remove_from_album(fav, ids[5:6])
        lib.trash(ids[6:7])
    else:
        lib.remove_from_album(fav, ids[4:5])
    if change == "remove+add":
        lib.add_to_album(fav, ids[12:13])
    elif change == "remove+restore":
        lib.restore(ids[9:10])
    elif change == "remove+unhide":
        lib.set_visibility(ids[8:9], "timeline")
    run_sync(client, engine)
    assert set(seen) == {fav}
    assert_mirror_equals_server(engine, lib)


def test_trashing_or_archiving_a_member_needs_no_listing(engine: Engine, version: str) -> None:
    # The count and the timestamp move, exactly as the asset rows the asset pass read predict.
    lib, ids, client = _synced(version, engine)
    seen = listed_albums(client)
    lib.trash(ids[5:6])
    lib.set_visibility(ids[6:7], "archive")
    lib.restore(ids[9:10])
    run_sync(client, engine)
    assert seen == []
    assert_mirror_equals_server(engine, lib)


def test_an_album_with_assets_the_mirror_does_not_keep_falls_back_to_its_triple(
    engine: Engine, version: str
) -> None:
    lib, _ = _library()
    friend = lib.add_user("friend@example.com", "Friend")
    theirs = [lib.add_asset(f"F_{i}.jpg", owner_id=friend.id).id for i in range(3)]
    shared = lib.create_album("Friend's trip", theirs, owner_id=friend.id)
    shared.shared_with[lib.owner_id] = "viewer"
    client = fake_client(lib, version)
    run_sync(client, engine)
    run_sync(client, engine)
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT name, members_key FROM albums")).all())
    assert keys["Favourites"].endswith("|p") and not keys["Friend's trip"].endswith("|p")
    seen = listed_albums(client)
    run_sync(client, engine)
    assert seen == []
    lib.set_favorite(theirs[:1], True)  # their asset moved: the mirror cannot tell why
    run_sync(client, engine)
    assert set(seen) == {shared.id}
    assert_mirror_equals_server(engine, lib)


def test_a_mirror_from_before_the_prediction_lists_once_then_predicts(engine: Engine, version: str) -> None:
    lib, ids, client = _synced(version, engine)
    with engine.begin() as conn:  # members_key as the previous release stored it: the triple only
        conn.execute(text("UPDATE albums SET members_key = substr(members_key, 1, length(members_key) - 2)"))
    tag = lib.create_tag("autotag_output_unknown")
    lib.tag_assets([tag.id], ids[:10])
    seen = listed_albums(client)
    run_sync(client, engine)
    assert set(seen) == {_album(lib, "2019-06-01 Beach"), _album(lib, "Favourites")}
    seen.clear()
    lib.tag_assets([tag.id], ids[10:12])
    lib.untag_assets([tag.id], ids[:6])
    run_sync(client, engine)
    assert seen == []
    assert_mirror_equals_server(engine, lib)


def test_a_first_sync_walks_each_album_and_tag_once_on_v3(engine: Engine, version: str) -> None:
    # 3.x answers a search without visibility with timeline + archive + hidden: one walk each; 2.x three.
    lib, ids = _library()
    tag = lib.create_tag("people/alice")
    lib.tag_assets([tag.id], ids[:3])
    client = fake_client(lib, version)
    walks: list[str] = []
    real = client.request

    def request(method: str, path: str, **kw: Any) -> Any:
        body = kw.get("json") or {}
        scope = {**body, **(body.get("filter") or {})}
        first_page = body.get("page", 1) == 1 and "cursor" not in body
        if path == "/search/metadata" and first_page and (scope.get("albumIds") or scope.get("tagIds")):
            walks.append(path)
        return real(method, path, **kw)

    client.request = request  # type: ignore[method-assign]
    run_sync(client, engine)
    per_entity = 3 if version.startswith("2.") else 1
    assert len(walks) == per_entity * (len(lib.albums) + len(lib.tags))
    assert_mirror_equals_server(engine, lib)
