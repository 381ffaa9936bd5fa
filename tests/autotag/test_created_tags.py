"""Tags the tool created: recorded when made (parents too), deleted by undo once empty, never another's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import add_cats_and_dog, fake_session, fake_session_fixture

# Cats is the user's album; its photos get pets/cat, which does not exist yet (nor does pets).
CONFIG = {"tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats", "direction": "to_tag"}]}}


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=3)
    ids = add_cats_and_dog(lib)
    lib.create_album("Cats", asset_ids=[ids["cat1"], ids["cat2"]])
    lib.create_tag("places/beach")  # the user's own tag: never touched
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


session = fake_session_fixture(CONFIG)


def tag_list(lib: FakeLibrary) -> set[tuple[str, str]]:
    return {(t.id, t.value) for t in lib.tags.values()}


def created(s: Session) -> dict[str, str | None]:
    with s.engine.connect() as conn:
        return {str(v): d for v, d in conn.execute(text("SELECT value, deleted_at FROM created_tags"))}


def test_run_records_the_tags_it_created_and_undo_deletes_them(session: Session, library: FakeLibrary) -> None:
    before = tag_list(library)
    ops.run(session)
    made = {"pets", "pets/cat", "autotag_output_unknown"}
    assert {v for _i, v in tag_list(library) - before} == made
    assert set(created(session)) == made  # the parent PUT /tags made for pets/cat counts too
    with session.engine.connect() as conn:
        logged = {str(r[0]) for r in conn.execute(text("SELECT after FROM changes WHERE kind = 'tag_create'"))}
    assert logged == made

    result = ops.undo(session, run_id=None, apply=True)

    assert result.push is not None and result.push.dead == 0 and result.push.failed == 0
    assert tag_list(library) == before
    assert all(deleted for deleted in created(session).values())
    with session.engine.connect() as conn:
        mirror = {str(v) for v in conn.execute(text("SELECT value FROM tags")).scalars()}
    assert mirror == {"places", "places/beach"}
    # untagged before they were deleted: a metadata refresh reads nothing back from the sidecars
    library.refresh_metadata(list(library.assets))
    library.settle()
    assert tag_list(library) == before


def test_undo_keeps_a_created_tag_someone_used_since(session: Session, library: FakeLibrary) -> None:
    ids: dict[str, str] = library.ids  # type: ignore[attr-defined]
    ops.run(session)
    cat = library.tag_by_value("pets/cat")
    assert cat is not None
    library.tag_assets([cat.id], [ids["dog"]])  # the user's own tagging, after the run

    result = ops.undo(session, run_id=None, apply=True)

    values = {v for _i, v in tag_list(library)}
    assert {"pets", "pets/cat"} <= values and "autotag_output_unknown" not in values
    assert library.tag_members[cat.id] == {ids["dog"]}  # the tool's links gone, the user's kept
    assert result.push is not None and result.push.dead == 2
    with session.engine.connect() as conn:
        dead = text("SELECT last_error FROM outbox WHERE kind = 'tag_delete' AND state = 'dead'")
        errors = sorted(str(e) for e in conn.execute(dead).scalars())
    assert errors == [
        'tag "pets" has the tag "pets/cat" below it: kept',
        'tag "pets/cat" is on 1 asset(s) autotag did not tag in that run: kept',
    ]
    assert created(session)["pets/cat"] is None


def test_a_tag_the_mirror_had_not_seen_yet_is_not_the_tools(session: Session, library: FakeLibrary) -> None:
    ops.sync(session)
    library.create_tag("pets/cat")  # made by the user after the sync: the mirror does not know it
    user_tags = tag_list(library)
    ops.classify(session, dry_run=False)
    ops.push(session)
    assert set(created(session)) == {"autotag_output_unknown"}

    ops.undo(session, run_id=None, apply=True)

    assert tag_list(library) == user_tags
    assert all(not library.tag_members[t] for t, v in user_tags if v == "pets/cat")


def test_undo_never_deletes_a_tag_it_did_not_create(session: Session, library: FakeLibrary) -> None:
    ops.run(session)
    beach = library.tag_by_value("places/beach")
    assert beach is not None
    with session.engine.begin() as conn:  # a forged undo row, as an older version or a bad edit might leave
        run_id = conn.execute(text("SELECT max(run_id) FROM changes")).scalar_one()
        conn.execute(
            text("INSERT INTO changes (run_id, at, kind, target, after) VALUES (:r, 'now', 'tag_create', :t, :v)"),
            {"r": run_id, "t": beach.id, "v": '"places/beach"'},
        )
    result = ops.undo(session, run_id=run_id, apply=True)
    assert beach.id in library.tags
    assert result.push is not None and result.push.dead == 1


def test_undo_of_a_run_with_every_feature_on_leaves_the_tag_list_as_it_was(tmp_path: Path, version: str) -> None:
    from immich_mirror.fake.generate import generate_library

    lib = generate_library(300, seed=11)
    cfg = parse_config({
        "duplicates": {"enabled": True},
        "dates": {"enabled": True},
        "album_dates": {"enabled": True},
        "folder_albums": {"enabled": True},
        "tag_albums": {"enabled": True, "rules": [
            {"tag": "pets/cat", "album": "Cats", "direction": "to_album"},
            {"tag": "family/all", "album": "Family", "direction": "to_tag"},
        ]},
    })
    before_tags = tag_list(lib)
    before_albums = {(a.id, a.name) for a in lib.albums.values()}
    s = fake_session(lib, tmp_path / "m.db", version, cfg)
    try:
        first = ops.run(s)
        assert first.push.dead == 0
        made = {v for _i, v in tag_list(lib) - before_tags}
        assert {"family", "family/all", "autotag_output_unknown"} <= made
        assert set(created(s)) == made
        undone = ops.undo(s, run_id=None, apply=True)
        assert undone.push is not None and undone.push.dead == 0
    finally:
        s.close()
    assert tag_list(lib) == before_tags
    assert {(a.id, a.name) for a in lib.albums.values()} == before_albums
