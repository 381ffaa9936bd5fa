"""Two processes on one mirror: a writer that finds the database busy waits, then gives one clear line;
``autotag sql`` reads while a sync writes; two runs at once leave a sound database and the right markers.

These test SQLite's side (WAL, ``BEGIN IMMEDIATE``, the busy timeout) through the CLI's output, whatever
process-level lock sits in front of it.
"""

from __future__ import annotations

import io
import sqlite3
import time
from contextlib import closing, redirect_stderr, redirect_stdout
from pathlib import Path
from random import Random

import pytest

from autotag.cli import main
from autotag.config import AutotagConfig
from autotag.session import Session
from immich_mirror.db import engine as db_engine
from immich_mirror.db.engine import integrity_ok
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server
from immich_mirror.sync import runner as sync_runner
from tests.helpers import assert_mirror_equals_server, serving
from tests.reliability.crashes import autotag
from tests.reliability.schedules import build_library, expected_markers, server_markers
from tests.terminal import PROGRESS_LINE

BUSY = "the mirror database is busy: another autotag process is using it"
# What the process lock (autotag/lock.py) says when the other run holds it longer than its wait.
LOCKED = "another autotag process (pid "


def cli(db: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--db", str(db), *argv])
    return code, out.getvalue(), err.getvalue()


def hold_write_lock(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO sync_state(key, value, updated_at) VALUES ('other', 'process', 'now')")
    return conn


def test_busy_database_waits_then_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "mirror.db"
    open_db(db).dispose()
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 400)
    with closing(hold_write_lock(db)):
        started = time.monotonic()
        code, _out, err = cli(db, "classify", "--dry-run")
        waited = time.monotonic() - started
        status_code, status_out, _ = cli(db, "status")  # a reader does not wait for the writer
    assert code == 3 and err.strip() == f"error: {db}: {BUSY}", err
    assert waited >= 0.35, "it should wait for the other writer before giving up"
    assert status_code == 0 and "last sync" in status_out
    engine = open_db(db)
    assert integrity_ok(engine)
    engine.dispose()


def test_lock_taken_mid_sync_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "mirror.db"
    lib = build_library(Random(2), "3.1.0")
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 300)
    held: list[sqlite3.Connection] = []
    real = sync_runner.sync_albums

    def albums_after_someone_else_took_the_lock(ctx: object, since: object) -> None:
        held.append(hold_write_lock(db))
        real(ctx, since)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_runner, "sync_albums", albums_after_someone_else_took_the_lock)
    with serving(lib, monkeypatch):
        code, _out, err = cli(db, "sync")
    for conn in held:
        conn.close()
    # The asset pass finished before the lock was taken, and said so; then the one error line.
    errors = [line for line in err.splitlines() if line.strip() and not PROGRESS_LINE.match(line)]
    assert code == 3 and errors == [f"error: {db}: {BUSY}"], err
    monkeypatch.setattr(sync_runner, "sync_albums", real)
    s = Session(cfg=AutotagConfig(), db_path=db)
    assert integrity_ok(s.engine)
    s.close()


@pytest.mark.slow
def test_busy_database_in_a_real_second_process(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    open_db(db).dispose()
    with closing(hold_write_lock(db)):
        started = time.monotonic()
        proc = autotag(db, "http://127.0.0.1:9", "k", "sync")
        _, err = proc.communicate(timeout=60)
        waited = time.monotonic() - started
    assert proc.returncode == 3 and err.decode().strip() == f"error: {db}: {BUSY}"
    assert waited >= db_engine.BUSY_TIMEOUT_MS / 1000


def test_sql_reads_while_a_sync_writes(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    lib = generate_library(500, seed=4)
    with running_fake_server(lib) as (url, key):
        sync = autotag(db, url, key, "sync")
        counts, reads = [], 0
        while sync.poll() is None:
            if db.exists():
                code, out, err = cli(db, "sql", "SELECT COUNT(*) AS n FROM assets", "--csv")
                if code == 0:
                    counts.append(int(out.splitlines()[-1]))
                else:  # a DB so new its schema is not in yet
                    assert "not up to date" in err or "no mirror database" in err, err
                reads += 1
            time.sleep(0.05)
        _, sync_err = sync.communicate()
    assert sync.returncode == 0, sync_err.decode()
    assert reads >= 3 and counts == sorted(counts), counts
    assert counts[-1] <= len(lib.assets)


def test_two_runs_at_once(tmp_path: Path) -> None:
    db = tmp_path / "mirror.db"
    lib = build_library(Random(8), "3.1.0")
    with running_fake_server(lib) as (url, key):
        procs = [autotag(db, url, key, "run") for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        for proc, (_out, err) in zip(procs, results, strict=True):
            text = err.decode()
            assert "Traceback" not in text, text
            assert proc.returncode == 0 or (proc.returncode == 3 and (BUSY in text or LOCKED in text)), text
        again = autotag(db, url, key, "run")
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err.decode()
    s = Session(cfg=AutotagConfig(), db_path=db)
    try:
        assert integrity_ok(s.engine)
        assert_mirror_equals_server(s.engine, lib)
    finally:
        s.close()
    assert server_markers(lib) == expected_markers(lib)


def test_sql_reads_while_another_process_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "mirror.db"
    assert cli(db, "classify", "--dry-run")[0] == 0  # the rule views exist
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 300)
    other = tmp_path / "other.yaml"  # rules other than the installed ones: the views are stale for it
    other.write_text("rules:\n  - name: everything\n    sql: '1'\n", encoding="utf-8")
    other.chmod(0o600)
    with closing(hold_write_lock(db)):
        code, out, err = cli(db, "sql", "SELECT COUNT(*) AS n FROM classification", "--csv")
        assert code == 0 and err == "", err  # current views: nothing to write, nothing to wait for
        assert out.splitlines()[-1] == "0"
        code, out, err = cli(db, "--config", str(other), "sql", "SELECT rule FROM rule_names", "--csv")
    assert code == 0, err
    assert "everything" not in out
    assert "the rule views are as the last classify left them" in err and "Traceback" not in err


def test_sql_on_a_fresh_mirror_held_by_another_process_says_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "mirror.db"
    open_db(db).dispose()  # no rule views yet: nothing to fall back on
    monkeypatch.setattr(db_engine, "BUSY_TIMEOUT_MS", 300)
    with closing(hold_write_lock(db)):
        code, _out, err = cli(db, "sql", "SELECT 1")
    assert code == 3 and err.strip() == f"error: {db}: {BUSY}", err
