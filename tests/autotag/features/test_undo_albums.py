"""Undo and the albums the tool created: deleted when empty, kept when the user has put photos in them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.session import Session
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.features.test_loop import album
from tests.helpers import add_cats_and_dog, fake_session_fixture

CONFIG = {"tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats"}]}}


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=7)
    ids = add_cats_and_dog(lib)
    cat = lib.create_tag("pets/cat")
    lib.tag_assets([cat.id], [ids["cat1"], ids["cat2"]])
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


session = fake_session_fixture(CONFIG)


def _created_album(session: Session, library: FakeLibrary) -> str:
    ops.run(session)
    ids: dict[str, str] = library.ids  # type: ignore[attr-defined]
    assert album(library, "Cats") == {ids["cat1"], ids["cat2"]}
    with session.engine.connect() as conn:
        created = conn.execute(text("SELECT album_id FROM created_albums WHERE name = 'Cats'")).scalar_one()
    return str(created)


def test_undo_keeps_a_created_album_the_user_added_a_photo_to(session: Session, library: FakeLibrary) -> None:
    ids: dict[str, str] = library.ids  # type: ignore[attr-defined]
    album_id = _created_album(session, library)
    library.add_to_album(album_id, [ids["dog"]])  # the user's own organisation, after the run

    result = ops.undo(session, run_id=None, apply=True)

    assert album_id in library.albums
    assert album(library, "Cats") == {ids["dog"]}  # the tool's additions gone, the user's photo kept
    assert result.push is not None and result.push.dead == 1 and result.push.failed == 0
    with session.engine.connect() as conn:
        undo_run = conn.execute(text("SELECT max(id) FROM runs WHERE undo_of IS NOT NULL")).scalar_one()
        states = sorted(tuple(r) for r in conn.execute(
            text("SELECT kind, state FROM outbox WHERE run_id = :r AND kind IN ('album_remove', 'album_delete')"),
            {"r": undo_run},
        ))
        error = conn.execute(text("SELECT last_error FROM outbox WHERE kind = 'album_delete'")).scalar_one()
        deleted_at = conn.execute(
            text("SELECT deleted_at FROM created_albums WHERE album_id = :a"), {"a": album_id}
        ).scalar_one()
    assert states == [("album_delete", "dead"), ("album_remove", "sent"), ("album_remove", "sent")]
    assert error == 'album "Cats" holds 1 asset(s) added since autotag created it: kept'
    assert deleted_at is None


def test_undo_deletes_a_created_album_nobody_added_to(session: Session, library: FakeLibrary) -> None:
    album_id = _created_album(session, library)

    result = ops.undo(session, run_id=None, apply=True)

    assert album_id not in library.albums
    assert "Cats" not in {a.name for a in library.albums.values()}
    assert result.push is not None and result.push.dead == 0 and result.push.failed == 0
    with session.engine.connect() as conn:
        deleted_at = conn.execute(
            text("SELECT deleted_at FROM created_albums WHERE album_id = :a"), {"a": album_id}
        ).scalar_one()
        in_mirror = conn.execute(text("SELECT 1 FROM albums WHERE id = :a"), {"a": album_id}).first()
    assert deleted_at is not None and in_mirror is None

