from __future__ import annotations

from immich_mirror.fake.generate import generate_library


def test_ids_the_server_creates_later_never_collide_with_generated_ones() -> None:
    lib = generate_library(300, seed=11)
    before = {t.id: t.value for t in lib.tags.values()}
    taken = set(lib.assets) | set(lib.albums) | set(lib.tags) | set(lib.users)
    new = [lib.create_tag(f"autotag_output_x{i}") for i in range(50)]
    new_albums = [lib.create_album(f"Album {i}") for i in range(50)]
    assert not ({t.id for t in new} | {a.id for a in new_albums}) & taken
    assert all(lib.tags[tid].value == value for tid, value in before.items())
