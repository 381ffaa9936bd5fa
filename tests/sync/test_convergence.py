"""Random server-side changes interleaved with syncs (some interrupted) always end with mirror == server."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immich_mirror.db.migrate import open_db
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync.runner import run_sync
from tests.helpers import assert_mirror_equals_server, fake_client

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "add",
                "favorite",
                "archive",
                "hide",
                "trash",
                "restore",
                "purge",
                "duplicate",
                "unduplicate",
                "album_add",
                "album_remove",
                "album_new",
                "album_rename",
                "album_delete",
                "tag",
                "untag",
                "tag_new",
                "tag_delete",
                "tag_move",
                "sync",
                "sync_interrupted",
                "sync_full",
            ]
        ),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=25,
)


def pick(items: list[Any], n: int) -> Any:
    return items[n % len(items)] if items else None


def apply(lib: FakeLibrary, op: str, n: int) -> None:
    own = sorted(a for a, asset in lib.assets.items() if asset.owner_id == lib.owner_id)
    albums = sorted(lib.albums)
    tags = sorted(lib.tags)
    asset = pick(own, n)
    if op == "add" or asset is None:
        lib.add_asset(f"IMG_2020{n % 12 + 1:02d}01_1200{n % 100:02d}.jpg")
    elif op == "favorite":
        lib.set_favorite([asset], True)
    elif op == "archive":
        lib.set_visibility([asset], "archive")
    elif op == "hide":
        lib.set_visibility([asset], "hidden")
    elif op == "trash":
        lib.trash([asset])
    elif op == "restore":
        lib.restore([asset])
    elif op == "purge":
        lib.purge([asset])
    elif op == "duplicate":
        lib.set_duplicate([asset, pick(own, n + 1)], f"6f1c1d2e-3b4a-4c5d-8e6f-{n:012d}")
    elif op == "unduplicate":
        lib.set_duplicate([asset], None)
    elif op == "album_new":
        lib.create_album(f"20{n % 30:02d}-01-01 Album {n}", asset_ids=own[n % 5 : n % 5 + 3])
    elif op in ("album_add", "album_remove", "album_rename", "album_delete") and albums:
        album = pick(albums, n)
        if op == "album_add":
            lib.add_to_album(album, [asset])
        elif op == "album_remove":
            lib.remove_from_album(album, sorted(lib.albums[album].members)[:1])
        elif op == "album_rename":
            lib.rename_album(album, f"Renamed {n}")
        else:
            lib.delete_album(album)
    elif op == "tag_new":
        lib.create_tag(f"t{n % 4}/c{n % 3}")
    elif op in ("tag", "untag", "tag_delete", "tag_move") and tags:
        tag = pick(tags, n)
        if op == "tag":
            lib.tag_assets([tag], [asset])
        elif op == "untag":
            lib.untag_assets([tag], [asset])
        elif op == "tag_delete":
            lib.delete_tag(tag)
        else:
            parent = pick(tags, n + 1)
            if parent != tag and tag not in _ancestors(lib, parent):
                lib.reparent_tag(tag, parent)


def _ancestors(lib: FakeLibrary, tag_id: str) -> set[str]:
    seen: set[str] = set()
    current = lib.tags[tag_id].parent_id
    while current and current not in seen:
        seen.add(current)
        current = lib.tags[current].parent_id
    return seen


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, version=st.sampled_from(["2.7.5", "3.1.0", "3.2.2"]))
def test_random_changes_and_syncs_converge(ops: list[tuple[str, int]], version: str) -> None:
    lib = FakeLibrary(seed=len(ops))
    for i in range(6):
        lib.add_asset(f"IMG_2019010{i}_120000.jpg")
    lib.create_album("2019-01-01 Start", asset_ids=sorted(lib.assets)[:3])
    lib.tag_assets([lib.create_tag("people/alice").id], sorted(lib.assets)[2:4])
    client = fake_client(lib, version)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_db(Path(tmp) / "m.db")
        for op, n in ops:
            if op == "sync":
                run_sync(client, engine)
            elif op == "sync_full":
                run_sync(client, engine, full=True)
            elif op == "sync_interrupted":
                real = client.search_assets

                def broken(real: Any = real, cut: int = n % 2, **kw: Any) -> Any:
                    for i, page in enumerate(real(**kw)):
                        if i >= cut:
                            raise ConnectionError("cut")
                        yield page

                client.search_assets = broken  # type: ignore[method-assign]
                try:
                    run_sync(client, engine)
                except ConnectionError:
                    pass
                finally:
                    client.search_assets = real  # type: ignore[method-assign]
            else:
                apply(lib, op, n)
        run_sync(client, engine)
        assert_mirror_equals_server(engine, lib)
        engine.dispose()
