"""Undo of a run that changed nothing on the server says so, and names the run that did."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autotag import session as ops
from autotag.cli import main
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session, isolate_cli, serving


def test_undo_of_a_classify_only_run_names_the_run_that_pushed(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=4)
    photo = lib.add_asset("a.jpg", date_time_original=datetime(2021, 5, 5, tzinfo=UTC)).id
    s = fake_session(lib, tmp_path / "m.db", version)
    try:
        ops.sync(s)
        classified = ops.classify(s, dry_run=False)
        assert classified.run_id is not None
        with pytest.raises(ImmichMirrorError) as queued:
            ops.undo(s, run_id=classified.run_id, apply=False)
        assert str(queued.value) == (
            f"run {classified.run_id} (classify) changed nothing on the server: "
            "its 1 queued change(s) are not pushed yet"
        )
        ops.push(s)
        with s.engine.connect() as conn:
            pushed = conn.exec_driver_sql("SELECT max(id) FROM runs WHERE command = 'push'").scalar_one()
        with pytest.raises(ImmichMirrorError) as applied:
            ops.undo(s, run_id=classified.run_id, apply=True)
        assert str(applied.value) == (
            f"run {classified.run_id} (classify) changed nothing on the server: what it queued was applied by "
            f"run {pushed} (push); undo that: `autotag undo --run {pushed}`"
        )
        assert lib.tag_by_value("autotag_output_unknown") is not None
        ops.undo(s, run_id=pushed, apply=True)
        assert lib.tag_by_value("autotag_output_unknown") is None
        assert lib.asset_tags.get(photo, set()) == set()
    finally:
        s.close()


def test_the_cli_says_so_in_one_line_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = FakeLibrary(seed=5)
    lib.add_asset("a.jpg", date_time_original=datetime(2021, 5, 5, tzinfo=UTC))
    isolate_cli(tmp_path, monkeypatch)
    db = str(tmp_path / "m.db")
    with serving(lib, monkeypatch):
        assert main(["--db", db, "sync"]) == 0
        assert main(["--db", db, "classify"]) == 0  # run 1: queues the marker
        assert main(["--db", db, "push"]) == 0  # run 2: applies it
        capsys.readouterr()
        code = main(["--db", db, "undo", "--run", "1"])
        _out, err = capsys.readouterr()
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "error: run 1 (classify) changed nothing on the server: what it queued was applied by run 2 (push); "
        "undo that: `autotag undo --run 2`"
    )
