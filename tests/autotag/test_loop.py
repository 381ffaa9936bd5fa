"""The core loop against the fake server: classify, push, verify, rerun, fix, undo, in each version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.session import Session
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_client

UNKNOWN = "autotag_output_unknown"
CONFLICT = "autotag_output_conflict"


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=3)
    ids = [lib.add_asset(f"IMG_20190412_1530{i:02d}.jpg").id for i in range(20)]
    lib.create_album("2019-06-01 Beach", asset_ids=ids[:4])
    lib.create_album("2019-07-01 Hike", asset_ids=ids[3:5])  # ids[3] is in two date albums: conflict
    lib.create_album("Best of", asset_ids=ids[5:8])  # not classifying
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], ids[8:10])
    lib.tag_assets([meme.id], ids[0:1])  # album + meme: conflict
    lib.trash(ids[19:20])
    lib.set_visibility(ids[18:19], "hidden")
    return lib


@pytest.fixture
def make_session(tmp_path: Path, library: FakeLibrary, version: str) -> Iterator[Session]:
    s = Session(
        cfg=AutotagConfig(),
        db_path=tmp_path / "m.db",
        client_factory=lambda: fake_client(library, version),
        sleep=lambda _s: None,
    )
    yield s
    s.close()


def server_markers(library: FakeLibrary, value: str) -> set[str]:
    tag = library.tag_by_value(value)
    return set(library.tag_members.get(tag.id, set())) if tag else set()


def expected(library: FakeLibrary) -> tuple[set[str], set[str]]:
    """Independent of the SQL: which live timeline/archive assets should carry which marker."""
    date_albums = [a for a in library.albums.values() if a.name[:4].isdigit()]
    meme = library.tag_by_value("autotag_input_meme")
    unknown, conflict = set(), set()
    for aid, a in library.assets.items():
        if (
            a.deleted_at is not None
            or a.visibility not in ("timeline", "archive")
            or a.owner_id != library.owner_id
        ):
            continue
        albums = [al for al in date_albums if aid in al.members]
        rules = (1 if albums else 0) + (1 if meme and aid in library.tag_members.get(meme.id, set()) else 0)
        if rules == 0:
            unknown.add(aid)
        elif rules > 1 or len(albums) > 1:
            conflict.add(aid)
    return unknown, conflict


def test_run_marks_then_second_run_changes_nothing(make_session: Session, library: FakeLibrary) -> None:
    result = ops.run(make_session)
    unknown, conflict = expected(library)
    assert server_markers(library, UNKNOWN) == unknown
    assert server_markers(library, CONFLICT) == conflict
    assert result.push.sent == len(unknown) + len(conflict)
    assert result.as_dict()["unclassified"] == len(unknown)
    again = ops.run(make_session)
    assert again.push.sent == 0
    assert again.classify.enqueued is not None and again.classify.enqueued.added == 0
    # The push stored the marker tags as its writes left them: the sync after it sees no tag moved
    # (a moved tag has its members read in full, for writes no asset shows).
    assert again.sync.stats.tags.changed == 0


def test_fix_on_server_removes_the_marker(make_session: Session, library: FakeLibrary) -> None:
    ops.run(make_session)
    unknown, _ = expected(library)
    fixed = sorted(unknown)[0]
    beach = next(a for a in library.albums.values() if a.name == "2019-06-01 Beach")
    library.add_to_album(beach.id, [fixed])
    ops.run(make_session)
    assert fixed not in server_markers(library, UNKNOWN)
    assert server_markers(library, UNKNOWN) == expected(library)[0]


def test_classify_twice_enqueues_nothing_new_and_dry_run_writes_nothing(make_session: Session) -> None:
    ops.sync(make_session)
    dry = ops.classify(make_session, dry_run=True)
    assert dry.enqueued is None
    with make_session.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM outbox")).scalar() == 0
    first = ops.classify(make_session, dry_run=False)
    second = ops.classify(make_session, dry_run=False)
    assert first.enqueued is not None and first.enqueued.added == dry.summary.rows
    assert second.enqueued is not None and second.enqueued.added == 0


def test_newer_plan_cancels_pending_rows(make_session: Session, library: FakeLibrary) -> None:
    ops.sync(make_session)
    ops.classify(make_session, dry_run=False)
    unknown, _ = expected(library)
    fixed = sorted(unknown)[0]
    beach = next(a for a in library.albums.values() if a.name == "2019-06-01 Beach")
    library.add_to_album(beach.id, [fixed])
    ops.sync(make_session)
    result = ops.classify(make_session, dry_run=False)
    assert result.enqueued is not None and result.enqueued.cancelled == 1
    ops.push(make_session)
    assert fixed not in server_markers(library, UNKNOWN)


def test_undo_restores_the_previous_server_state(make_session: Session, library: FakeLibrary) -> None:
    before = library.snapshot()["asset_tags"]
    ops.run(make_session)
    assert library.snapshot()["asset_tags"] != before
    shown = ops.undo(make_session, run_id=None, apply=False)
    assert shown.items and library.snapshot()["asset_tags"] != before
    ops.undo(make_session, run_id=None, apply=True)
    assert library.snapshot()["asset_tags"] == before
    # and the mirror agrees: the next plan wants the markers again
    dry = ops.classify(make_session, dry_run=True)
    assert dry.summary.kinds.get("tag_add", 0) == len(expected(library)[0]) + len(expected(library)[1])


def test_changes_are_logged_with_before_and_after(make_session: Session) -> None:
    result = ops.run(make_session)
    with make_session.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, target, before, after FROM changes WHERE asset_id IS NOT NULL")).all()
        created = conn.execute(text("SELECT after FROM changes WHERE kind = 'tag_create'")).scalars().all()
    assert sorted(created) == ["autotag_output_conflict", "autotag_output_unknown"]  # the marker tags, made once
    assert len(rows) == result.push.sent
    assert {r.kind for r in rows} == {"tag_add"}
    assert all(r.before == "false" and r.after == "true" for r in rows)
