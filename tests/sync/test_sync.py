"""Sync correctness: every change kind on the server reaches the mirror, in each server version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from immich_mirror.api.client import ImmichClient
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync.runner import run_sync
from tests.helpers import assert_mirror_equals_server, fake_client, stepping_clock


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=1)
    ids = [lib.add_asset(f"IMG_2019041{i % 10}_1530{i:02d}.jpg").id for i in range(30)]
    lib.set_visibility(ids[20:24], "archive")
    lib.set_visibility(ids[24:26], "hidden")
    lib.trash(ids[26:28])
    beach = lib.create_album("2019-06-01 Beach", asset_ids=ids[:5])
    lib.create_album("Favourites", asset_ids=ids[3:8])
    meme = lib.create_tag("autotag_input_meme")
    alice = lib.create_tag("people/alice")
    lib.tag_assets([meme.id], ids[8:12])
    lib.tag_assets([alice.id], ids[10:14])
    lib.set_duplicate(ids[14:16], "6f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f")
    assert beach.id
    return lib


def sync(client: ImmichClient, engine: Engine, full: bool = False) -> None:
    run_sync(client, engine, full=full)


def test_initial_sync_equals_server(library: FakeLibrary, engine: Engine, version: str) -> None:
    client = fake_client(library, version)
    summary = run_sync(client, engine)
    assert summary.stats.assets.added == 30
    assert_mirror_equals_server(engine, library)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT value FROM sync_state WHERE key='owner_id'")).scalar()
            == library.owner_id
        )
        run = conn.execute(text("SELECT status, assets_added, requests FROM sync_runs")).one()
    assert run.status == "ok" and run.assets_added == 30 and run.requests > 0


def test_second_sync_with_nothing_changed_changes_nothing(
    library: FakeLibrary, engine: Engine, version: str
) -> None:
    client = fake_client(library, version)
    run_sync(client, engine)
    summary = run_sync(client, engine)
    s = summary.stats
    assert (s.assets.added, s.assets.changed, s.assets.removed) == (0, 0, 0)
    assert (s.albums.added, s.albums.changed, s.album_links.added, s.tag_links.added) == (0, 0, 0, 0)
    assert_mirror_equals_server(engine, library)


def test_every_change_kind_reaches_the_mirror(library: FakeLibrary, engine: Engine, version: str) -> None:
    client = fake_client(library, version)
    run_sync(client, engine)
    ids = sorted(library.assets)
    own = [i for i in ids if library.assets[i].owner_id == library.owner_id]
    new = library.add_asset("PXL_20210101_123456789.jpg")
    library.set_favorite(own[0:1], True)
    library.set_visibility(own[1:2], "archive")
    library.set_visibility(own[2:3], "hidden")
    library.trash(own[3:4])
    trashed = [i for i in own if library.assets[i].deleted_at is not None and i != own[3]]
    library.restore(trashed[:1])
    library.purge(own[5:6])
    library.set_duplicate(own[6:8], "0c6a1e2b-9d6f-4b0e-8f3a-2b1c0d9e8f7a")
    dup_members = [
        i
        for i in own
        if i in library.assets and library.assets[i].duplicate_id == "6f1c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e2f"
    ]
    library.set_duplicate(dup_members[:1], None)
    albums = {a.name: a for a in library.albums.values()}
    library.rename_album(albums["Favourites"].id, "2020-01-01 New year")
    library.add_to_album(albums["2019-06-01 Beach"].id, [new.id, own[9]])
    library.remove_from_album(albums["2019-06-01 Beach"].id, sorted(albums["2019-06-01 Beach"].members)[:1])
    extra = library.create_album("2021-07-04 Picnic", asset_ids=own[10:12])
    assert extra.id
    tags = {t.value: t for t in library.tags.values()}
    library.tag_assets([tags["autotag_input_meme"].id], [new.id, own[12]])
    library.untag_assets([tags["people/alice"].id], sorted(library.tag_members[tags["people/alice"].id])[:1])
    run_sync(client, engine)
    assert_mirror_equals_server(engine, library)


def test_album_and_tag_deletion_and_reparenting(library: FakeLibrary, engine: Engine, version: str) -> None:
    client = fake_client(library, version)
    run_sync(client, engine)
    albums = {a.name: a for a in library.albums.values()}
    library.delete_album(albums["Favourites"].id)
    tags = {t.value: t for t in library.tags.values()}
    library.delete_tag(tags["autotag_input_meme"].id)
    places = library.create_tag("places")
    library.reparent_tag(tags["people/alice"].id, places.id)
    run_sync(client, engine)
    assert_mirror_equals_server(engine, library)
    with engine.connect() as conn:
        values = {r[0] for r in conn.execute(text("SELECT value FROM tags"))}
    assert "places/alice" in values and "autotag_input_meme" not in values


def test_full_sync_reconciles_purges(library: FakeLibrary, engine: Engine, version: str) -> None:
    client = fake_client(library, version)
    run_sync(client, engine)
    trashed = [i for i, a in library.assets.items() if a.deleted_at is not None]
    library.purge(trashed)  # emptying the trash does not change the live counts
    run_sync(client, engine, full=True)
    assert_mirror_equals_server(engine, library)


def test_partner_assets_are_left_out_by_default(library: FakeLibrary, engine: Engine, version: str) -> None:
    friend = library.add_user("friend@example.com", "Friend")
    library.add_partner(friend.id)
    library.add_asset("IMG_partner.jpg", owner_id=friend.id)
    client = fake_client(library, version)
    run_sync(client, engine)
    assert_mirror_equals_server(engine, library)
    summary = run_sync(client, engine, include_partners=True, full=True)
    assert summary.stats.assets.added == 1


def test_interrupted_sync_resumes_and_converges(library: FakeLibrary, engine: Engine, version: str) -> None:
    client = fake_client(library, version)
    pages = {"n": 0}
    real = client.search_assets

    def flaky(**kw):  # type: ignore[no-untyped-def]
        for page in real(**kw):
            pages["n"] += 1
            if pages["n"] == 2:
                raise KeyboardInterrupt
            yield page

    for _ in range(40):
        library.add_asset(f"IMG_{datetime.now(UTC):%Y%m%d}_x.jpg")
    client.search_assets = flaky  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run_sync(client, engine)
    client.search_assets = real  # type: ignore[method-assign]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM sync_runs")).scalar() == "interrupted"
    run_sync(client, engine)
    assert_mirror_equals_server(engine, library)


def test_changes_stamped_in_the_millisecond_the_mirror_already_saw(engine: Engine, version: str) -> None:
    # Postgres stamps rows with their transaction's start: a change that commits after our read can carry
    # the very stamp we read. A frozen clock makes every change share one stamp: nothing may be missed.
    frozen = datetime.now(UTC).replace(microsecond=0)
    library = FakeLibrary(seed=2, clock=lambda: frozen)
    ids = [library.add_asset(f"{i}.jpg").id for i in range(6)]
    album = library.create_album("2019-06-01 Beach", asset_ids=ids[:2])
    tag = library.create_tag("autotag_input_meme")
    client = fake_client(library, version)
    run_sync(client, engine)
    # Same album stamp, same count, same last-modified stamp; an asset's tag and nothing else.
    library.remove_from_album(album.id, ids[:1])
    library.add_to_album(album.id, ids[2:3])
    library.tag_assets([tag.id], ids[3:4])
    run_sync(client, engine)
    assert_mirror_equals_server(engine, library)


def _change_after_first_page(client: ImmichClient, library: FakeLibrary, change: str) -> list[str]:
    """Purge (or archive) an asset the first search page returned, right after that page: every later
    row of that walk moves up one place, so the row at the page boundary slips past it unchanged."""
    real = client.request
    changed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        response = real(method, path, **kw)
        if path == "/search/metadata" and not changed:
            first = response.json()["assets"]["items"][0]["id"]
            changed.append(first)
            if change == "purge":
                library.purge([first])
            else:
                library.set_visibility([first], "archive")
        return response

    client.request = request  # type: ignore[method-assign]
    return changed


@pytest.mark.parametrize(("change", "full"), [("purge", False), ("purge", True), ("archive", False)])
def test_a_row_that_slipped_between_pages_is_found_again(
    engine: Engine, version: str, change: str, full: bool
) -> None:
    library = FakeLibrary(seed=3)
    for i in range(1500):
        library.add_asset(f"IMG_{i:05d}.jpg")
    client = fake_client(library, version)
    if full:  # an existing mirror refreshed with --full: the slipped row must not be deleted
        run_sync(client, engine)
    changed = _change_after_first_page(client, library, change)
    summary = run_sync(client, engine, full=full)
    assert changed and summary.stats.reconciled
    assert_mirror_equals_server(engine, library)
    again = run_sync(client, engine)
    assert not again.stats.reconciled  # steady again: the next sync makes no id walk


@pytest.mark.parametrize("tagged", [3, 25])
def test_tags_added_where_the_asset_never_moves_are_seen(engine: Engine, version: str, tagged: int) -> None:
    """A read-only external library (or jobs not run yet): tagging moves the tag's updatedAt at once and
    the asset's never. The next incremental sync still finds the new links (a few assets exactly, many
    by a full read of the tags)."""
    library = FakeLibrary(seed=4, jobs="manual", clock=stepping_clock())
    ids = [library.add_asset(f"IMG_{i:03d}.jpg").id for i in range(30)]
    pets = library.create_tag("pets")
    cat = library.create_tag("pets/cat")
    library.tag_assets([cat.id], ids[:2])
    library.settle()
    client = fake_client(library, version)
    run_sync(client, engine)
    library.tag_assets([cat.id], ids[2 : 2 + tagged])
    library.tag_assets([pets.id], ids[29:])
    library.untag_assets([cat.id], ids[:1])  # a removal alone moves nothing; it rides along here
    summary = run_sync(client, engine)
    assert summary.stats.assets.changed == 0  # the asset pass saw nothing
    assert_mirror_equals_server(engine, library)
