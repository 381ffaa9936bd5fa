"""Run numbers a person recognises: one run per command typed, listed with its time and what it changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.cli import main
from autotag.runs import recent_runs
from immich_mirror.fake.generate import generate_library
from tests.helpers import fake_session, serving

UNKNOWN = "autotag_output_unknown"


# `isolated` (tests/autotag/conftest.py): no environment of the developer leaks in.
pytestmark = pytest.mark.usefixtures("isolated")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_first_run_is_run_1_and_undo_lists_what_each_run_changed(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = generate_library(60, seed=4)
    db = str(isolated / "m.db")
    with serving(lib, monkeypatch):
        code, _, err = cli(capsys, "--db", db, "run")
        assert code == 0, err
        changed = int(re.search(r"push: (\d+) applied", err).group(1))  # type: ignore[union-attr]
        assert changed > 0

        code, out, _ = cli(capsys, "--db", db, "undo")
        assert code == 0
        # The list first: the one run the person typed, as number 1, with its time and its changes by name.
        listed = re.search(
            rf"^  run 1  \d{{4}}-\d\d-\d\d \d\d:\d\d  run: {changed} change\(s\): {UNKNOWN} \+\d+", out, re.M
        )
        assert listed, out
        assert "run 2" not in out
        assert re.search(r"^run 1: would revert \d+ change\(s\)", out, re.M), out

        assert cli(capsys, "--db", db, "undo", "--yes")[0] == 0
        code, out, _ = cli(capsys, "--db", db, "report", str(isolated / "report"))
    assert code == 0
    assert re.search(rf"^  run 2  .*  undo of run 1: {changed} change\(s\): {UNKNOWN} -\d+", out, re.M), out
    assert re.search(r"^  run 1  .*\(undone by run 2\)$", out, re.M), out
    summary = (isolated / "report" / "summary.txt").read_text()
    assert "  run 2  " in summary and "  run 1  " in summary


def test_a_run_is_one_run_row_holding_its_classify_counts(tmp_path: Path) -> None:
    lib = generate_library(60, seed=5)
    session = fake_session(lib, tmp_path / "m.db")
    result = ops.run(session)
    with session.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, command, status, summary FROM runs")).all()
        listed = recent_runs(conn)
    assert [(r.id, r.command, r.status) for r in rows] == [(1, "run", "ok")]
    assert '"by_status"' in rows[0].summary and '"sent"' in rows[0].summary
    assert [r.id for r in listed] == [1]
    # One truth for counts: the list says what the push applied, and undo reverts those changes (plus
    # the deletion of the marker tags the run created, which the list names apart).
    items = ops.undo(session, run_id=None, apply=False).items
    created = [e for e in listed[0].effects if e.kind == "tag_create"]
    assert created and listed[0].changes == result.push.sent
    assert len([i for i in items if i.kind != "tag_delete"]) == listed[0].changes
    assert len([i for i in items if i.kind == "tag_delete"]) == len(created)
    session.close()


def test_run_reports_each_step_when_it_ends(tmp_path: Path) -> None:
    lib = generate_library(60, seed=6)
    session = fake_session(lib, tmp_path / "m.db")
    seen: list[tuple[str, str]] = []
    session.progress = lambda stage, _done, _total: seen.append(("progress", stage))
    ops.run(session, on_phase=lambda name, _result: seen.append(("end", name)))
    ends = [i for i, (what, _) in enumerate(seen) if what == "end"]
    assert [seen[i][1] for i in ends] == ["sync", "classify", "push"]
    stages_before = {seen[i][1]: {s for what, s in seen[:i] if what == "progress"} for i in ends}
    assert "push" not in stages_before["sync"] and "classify" not in stages_before["sync"]
    assert "push" not in stages_before["classify"] and "classify" in stages_before["classify"]
    session.close()


def test_a_watch_cycle_is_one_run(tmp_path: Path) -> None:
    from autotag.watch import Watcher

    lib = generate_library(60, seed=7)
    session = fake_session(lib, tmp_path / "m.db")
    result = Watcher(session, max_cycles=1, sleep=lambda _s: None).run()
    assert result.changes > 0
    with session.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, command, status, summary FROM runs")).all()
        listed = recent_runs(conn)
    assert [(r.id, r.command, r.status) for r in rows] == [(1, "watch", "ok")]
    assert '"by_status"' in rows[0].summary and '"sent"' in rows[0].summary
    assert [(r.id, r.changes) for r in listed] == [(1, result.changes)]
    session.close()


def test_a_run_line_names_a_few_creations_and_counts_the_rest() -> None:
    from autotag.runs import Effect, RunInfo

    effects = [Effect("tag_add", "autotag_output_unknown", 10)]
    effects += [Effect("album_create", f"2020-01-{d:02d} Trip", 1) for d in range(1, 21)]
    line = RunInfo(1, "run", "2026-12-05T10:00:00+00:00", "ok", None, None, effects).line()
    assert line.count("created album") == 3 and "(17 more created)" in line
    assert "autotag_output_unknown +10" in line and "10 change(s)" in line
