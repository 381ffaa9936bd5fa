"""The sync summary counts every link it removes, also those that go with a deleted album."""

from __future__ import annotations

from pathlib import Path

from immich_mirror.db.migrate import open_db
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync.runner import run_sync
from tests.helpers import fake_client


def test_links_of_a_deleted_album_are_counted_as_removed(tmp_path: Path) -> None:
    lib = FakeLibrary(seed=8)
    ids = [lib.add_asset(f"IMG_2019041{i}_120000.jpg").id for i in range(6)]
    album = lib.create_album("Favourites", asset_ids=ids[:5])
    engine = open_db(tmp_path / "m.db")
    try:
        client = fake_client(lib)
        run_sync(client, engine)
        lib.delete_album(album.id)
        summary = run_sync(client, engine)
    finally:
        engine.dispose()
    assert summary.stats.albums.removed == 1
    assert summary.stats.album_links.removed == 5
    assert "album links +0 -5" in summary.line()
