"""One writer per mirror: a second process is refused with a clear message; a killed holder blocks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autotag import lock as lockmod
from autotag.cli import main
from autotag.lock import DbLock
from immich_mirror.db.migrate import open_db
from immich_mirror.errors import DatabaseBusy

ROOT = Path(__file__).parents[2]


def holder(db: Path) -> subprocess.Popen[str]:
    """Another process that takes the lock and keeps it until killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from autotag.lock import DbLock
        DbLock(Path({str(db)!r})).acquire()
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_second_lock_waits_briefly_then_names_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    proc = holder(db)
    try:
        with pytest.raises(DatabaseBusy) as info:
            DbLock(db, wait=0.2).acquire()
        assert f"another autotag process (pid {proc.pid}) is using {db}" in info.value.message
    finally:
        proc.kill()
        proc.wait()
    # flock dies with its process: the next writer gets the lock at once, stale pid file or not.
    with DbLock(db, wait=0):
        pass


def test_sigterm_or_kill_of_holder_frees_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    proc = holder(db)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lockmod.lock_path(db).read_text().strip() == str(proc.pid)  # the stale pid stays ...
    with DbLock(db, wait=0) as lock:  # ... and does not matter
        assert lock.held


def test_writing_commands_are_refused_reading_ones_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lockmod, "DEFAULT_WAIT", 0.2)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    for name in ("IMMICH_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "m.db"
    open_db(db).dispose()
    with DbLock(db):
        for command in (["sync"], ["classify"], ["push"], ["run"], ["watch"], ["undo", "--yes"]):
            code = main(["--db", str(db), *command])
            _, err = capsys.readouterr()
            assert code == 3, command
            assert err.strip() == f"error: another autotag process (pid {os.getpid()}) is using {db}; " \
                "wait for it to finish or stop it"
        assert main(["--db", str(db), "sql", "SELECT 1 AS one"]) == 0
        assert "one" in capsys.readouterr().out
    # released by main(): nothing left holding it
    with DbLock(db, wait=0):
        pass
