"""Which run `undo` reverts, what it refuses, and its exit code when it could not revert everything."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.cli import main
from autotag.session import Session
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session_fixture, isolate_cli, serving, small_library

UNKNOWN = "autotag_output_unknown"


@pytest.fixture
def library() -> FakeLibrary:
    return small_library()


session = fake_session_fixture(every_version=False)


def tags(lib: FakeLibrary) -> set[tuple[str, str]]:
    """(asset, tag value): an undo deletes the marker tags its run created, a redo makes them anew."""
    snapshot = lib.snapshot()
    return {(asset_id, snapshot["tags"][tag_id]["value"]) for asset_id, tag_id in snapshot["asset_tags"]}


def undo_runs(s: Session) -> list[tuple[int, int]]:
    with s.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, undo_of FROM runs WHERE undo_of IS NOT NULL"))
        return [(int(a), int(b)) for a, b in rows]


def test_a_second_undo_does_not_redo_the_first_run(session: Session, library: FakeLibrary) -> None:
    before = tags(library)
    ops.run(session)
    first = ops.undo(session, run_id=None, apply=True)
    assert tags(library) == before
    with pytest.raises(ImmichMirrorError, match="every run with changes was undone already"):
        ops.undo(session, run_id=None, apply=True)
    assert tags(library) == before and len(undo_runs(session)) == 1
    with pytest.raises(ImmichMirrorError) as refused:
        ops.undo(session, run_id=first.undone_run, apply=False)
    undo_id = undo_runs(session)[0][0]
    assert refused.value.message.startswith(f"run {first.undone_run} was undone by run {undo_id}")


def test_plain_undo_walks_back_and_an_undo_is_reverted_only_when_named(
    session: Session, library: FakeLibrary
) -> None:
    start = tags(library)
    ops.run(session)
    after_first = tags(library)
    album = next(iter(library.albums.values()))
    library.add_to_album(album.id, sorted(library.assets)[4:6])  # the user files two photos
    ops.run(session)
    assert tags(library) != after_first
    newest = ops.undo(session, run_id=None, apply=True)
    assert tags(library) == after_first
    older = ops.undo(session, run_id=None, apply=True)  # the run before, not a redo of the newest
    assert older.undone_run < newest.undone_run and tags(library) == start
    redo_of = older.run_id
    assert redo_of is not None
    ops.undo(session, run_id=redo_of, apply=True)  # named: reverts the undo, i.e. applies that run again
    assert tags(library) == after_first
    again = ops.undo(session, run_id=None, apply=False)  # its undo was undone: it is in effect again
    assert again.undone_run == older.undone_run


def test_an_unknown_run_is_refused(session: Session) -> None:
    ops.run(session)
    with pytest.raises(ImmichMirrorError, match="no run 99: see `autotag report`"):
        ops.undo(session, run_id=99, apply=False)


def test_an_undo_that_could_not_revert_everything_exits_non_zero(
    tmp_path: Path, library: FakeLibrary, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_cli(tmp_path, monkeypatch)
    db = str(tmp_path / "m.db")
    with serving(library, monkeypatch):
        assert main(["--db", db, "run"]) == 0
        marker = library.tag_by_value(UNKNOWN)
        assert marker is not None
        library.delete_tag(marker.id)  # someone deletes the marker tag: its removals cannot be sent
        capsys.readouterr()
        code = main(["--db", db, "undo", "--yes"])
        _out, err = capsys.readouterr()
    assert code == 1
    last = [line for line in err.splitlines() if line.strip()][-1]
    # The first `run` is run 1 (one run per command typed), its undo run 2.
    assert last.startswith("error: run 1 is only partly undone: 8 could not be reverted (see `autotag sql"), err
    assert "WHERE run_id = 2 " in last


def test_an_undo_another_push_finishes_stays_the_undos(session: Session, library: FakeLibrary) -> None:
    before = tags(library)
    ops.run(session)
    session.should_stop = lambda: True  # Ctrl-C before the undo's first call
    stopped = ops.undo(session, run_id=None, apply=True)
    assert stopped.push is not None and stopped.push.interrupted
    with pytest.raises(ImmichMirrorError, match="which did not finish: run `autotag push` to finish it"):
        ops.undo(session, run_id=None, apply=False)
    session.should_stop = lambda: False
    finished = ops.push(session)  # the user does as told
    assert finished.sent > 0 and tags(library) == before
    with session.engine.connect() as conn:
        logged = dict(conn.execute(text("SELECT run_id, COUNT(*) FROM changes GROUP BY run_id")).all())
    assert logged.get(stopped.run_id, 0) >= finished.sent  # the undo's changes, not the push's
    with pytest.raises(ImmichMirrorError, match="every run with changes was undone already"):
        ops.undo(session, run_id=None, apply=False)  # not: "undo the push", which would redo the run


def test_the_undo_preview_links_each_photo_as_the_plan_does(
    tmp_path: Path, library: FakeLibrary, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_cli(tmp_path, monkeypatch)
    db = str(tmp_path / "m.db")
    with serving(library, monkeypatch):
        assert main(["--db", db, "run"]) == 0
        capsys.readouterr()
        assert main(["--db", db, "undo"]) == 0
        out, _err = capsys.readouterr()
    listed = [line for line in out.splitlines() if line.startswith("  tag_add ") or line.startswith("  tag_remove ")]
    assert listed, out
    assert all("/photos/" in line for line in listed), listed  # a link a person can open, not a bare id
