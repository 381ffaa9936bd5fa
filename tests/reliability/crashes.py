"""Kill ``python -m autotag run`` with SIGKILL at a random moment, rerun it, and compare with an uninterrupted run.

The fake server runs in this process (``running_fake_server``), the tool in a subprocess. For one library
seed, an uninterrupted run gives the reference markers and its duration; each kill then starts from the
same library and an empty mirror, kills the run after a random fraction of that duration, and reruns
until a run exits 0. ``PRAGMA integrity_check``, mirror == server, markers == the reference and the
changes log (each effect once, in order, matching the server) are then checked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from sqlalchemy import text

from autotag.config import AutotagConfig
from autotag.session import Session
from immich_mirror.db.engine import integrity_ok
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server
from tests.reliability.schedules import MARKERS, Stats, build_library, check, server_markers

ROOT = Path(__file__).resolve().parents[2]


def autotag(db: Path, url: str, key: str, *argv: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMMICH_", "AUTOTAG_"))}
    env.update(IMMICH_URL=url, IMMICH_API_KEY=key, PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(db.parent / "xdg"))
    return subprocess.Popen(
        [sys.executable, "-m", "autotag", "--db", str(db), *argv],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=db.parent,
    )


def markers_by_value(lib: FakeLibrary) -> dict[str, set[str]]:
    return server_markers(lib)


def phase_at_kill(db: Path) -> str:
    """Where the kill landed, read from the run records it left behind."""
    if not db.exists():
        return "start-up"
    s = Session(cfg=AutotagConfig(), db_path=db)
    try:
        with s.engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM sync_runs WHERE status = 'running'")).first():
                return "sync"
            runs = conn.execute(text("SELECT command, status FROM runs ORDER BY id")).all()
            if not conn.execute(text("SELECT 1 FROM sync_runs")).first():
                return "start-up"
    finally:
        s.close()
    if any(r.status == "running" for r in runs):
        return "push"
    return "classify" if not runs else "after push"


@dataclass
class CrashStats:
    kills: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    reruns: int = 0
    checks: Stats = field(default_factory=Stats)


def crash_seed(seed: int, kills: int, tmp: Path) -> CrashStats:
    out = CrashStats()
    reference_dir = tmp / f"ref-{seed}"
    reference_dir.mkdir()
    lib = build_library(Random(seed), "3.1.0")
    with running_fake_server(lib) as (url, key):
        started = time.monotonic()
        proc = autotag(reference_dir / "mirror.db", url, key, "run")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        duration = time.monotonic() - started
    reference = markers_by_value(lib)
    rng = Random(seed * 7919)
    for k in range(kills):
        work = tmp / f"kill-{seed}-{k}"
        work.mkdir()
        db = work / "mirror.db"
        lib = build_library(Random(seed), "3.1.0")
        with running_fake_server(lib) as (url, key):
            proc = autotag(db, url, key, "run")
            time.sleep(rng.uniform(0.2, 1.0) * duration)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            out.kills += 1
            phase = phase_at_kill(db) if proc.returncode == -signal.SIGKILL else "finished first"
            out.phases[phase] = out.phases.get(phase, 0) + 1
            for _attempt in range(3):
                again = autotag(db, url, key, "run")
                _, err = again.communicate(timeout=120)
                out.reruns += 1
                if again.returncode == 0:
                    break
            assert again.returncode == 0, err.decode()
            s = Session(cfg=AutotagConfig(), db_path=db)
            try:
                assert integrity_ok(s.engine)
                check(s, lib, out.checks)
            finally:
                s.close()
        assert markers_by_value(lib) == reference, f"kill {k} ({phase}): markers differ from the uninterrupted run"
        assert set(MARKERS) <= set(reference)
    return out
