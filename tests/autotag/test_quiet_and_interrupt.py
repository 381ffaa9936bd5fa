"""`-q` keeps stderr for errors only; Ctrl-C during a sync is one line, and not a failure in `status`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autotag.cli import main
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync import runner as sync_runner
from tests.helpers import isolate_cli, serving


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLibrary]:
    isolate_cli(tmp_path, monkeypatch)
    lib = FakeLibrary(seed=4)
    for i in range(5):
        lib.add_asset(f"IMG_2019041{i}_120000.jpg")
    with serving(lib, monkeypatch):
        yield lib


def test_quiet_prints_no_sync_or_push_line(
    tmp_path: Path, server: FakeLibrary, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "m.db")
    for argv in (["sync"], ["run"], ["push"]):
        assert main(["-q", "--db", db, *argv]) == 0
        _out, err = capsys.readouterr()
        assert err == "", argv
    assert main(["--db", db, "sync"]) == 0  # without -q the line is there
    assert "\nsync (incremental):" in "\n" + capsys.readouterr().err


def test_ctrl_c_during_a_sync_is_one_line_and_no_failure(
    tmp_path: Path, server: FakeLibrary, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "m.db")

    def pressed(*_a: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(sync_runner, "sync_albums", pressed)
        code = main(["--db", db, "sync"])
    _out, err = capsys.readouterr()
    # (a phase's progress line may come first; the interruption is one line, the last)
    assert code == 130 and err.strip().splitlines()[-1] == "interrupted; nothing lost, rerun to go on"
    assert err.count("interrupted") == 1
    assert main(["--db", db, "status"]) == 0
    status = capsys.readouterr().out
    assert "(incremental, interrupted)" in status and "KeyboardInterrupt" not in status and "failed" not in status
    assert main(["--db", db, "sync"]) == 0  # and the next one goes on
