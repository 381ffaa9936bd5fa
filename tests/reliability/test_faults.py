"""Seeded fault schedules (see ``schedules.py``): sync converges, push applies each mutation once in effect.

The default suite runs a handful of seeds, chosen because they once failed: 17 and 3 lose the answer
to an applied tag write (the change must still reach ``changes``, so undo can revert it), 30 and 45 break
a sync between its asset pass and its tag pass (the next sync must still re-read those tags),
1086 purges an asset from the trash.
``make test-slow`` runs 200 more.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from random import Random

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.faults import FaultPlan, FaultRule
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import assert_mirror_equals_server
from tests.reliability.schedules import build_library, draw_plan, faulty_client, run_schedule, session_for

REGRESSIONS = [3, 17, 30, 45, 1086]


@pytest.fixture(autouse=True)
def quiet_retries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)


@pytest.mark.parametrize("seed", REGRESSIONS)
def test_fault_schedule(seed: int, tmp_path: Path) -> None:
    stats = run_schedule(seed, tmp_path)
    assert stats.schedules == 1 and sum(stats.faults.values()) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1200))
def test_fault_schedule_slow(seed: int, tmp_path: Path) -> None:
    run_schedule(seed, tmp_path)


@pytest.mark.parametrize("how", ["trash", "hidden"])
def test_incremental_sync_sees_a_purge_of_a_trashed_or_hidden_asset(how: str, tmp_path: Path) -> None:
    """Emptying the trash changed no count the cheap purge check looked at (found by slow seed 1086)."""
    lib = build_library(Random(1), "3.1.0")
    s = session_for(lib, tmp_path / "m.db", "3.1.0", None)
    try:
        ops.sync(s)
        asset = lib.add_asset("IMG_gone.jpg")
        lib.trash([asset.id]) if how == "trash" else lib.set_visibility([asset.id], "hidden")
        ops.sync(s)
        lib.purge([asset.id])
        ops.sync(s)
        assert_mirror_equals_server(s.engine, lib)
    finally:
        s.close()


def run_date_schedule(seed: int, tmp_path: Path) -> int:
    """Date repair under faults on every write and search: each repaired date reaches the server once
    in effect, is logged once with both dates, and undo puts every upload date back. Returns the faults."""
    rng = Random(seed)
    version = rng.choice(["2.7.5", "3.1.0", "3.2.2"])
    lib = FakeLibrary(seed=seed, version=version)
    upload = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    days = {
        lib.add_asset(f"IMG-2019{m:02d}{d:02d}-WA{n:04d}.jpg", file_created_at=upload).id: (m, d)
        for n, (m, d) in enumerate((rng.randint(1, 12), rng.randint(1, 28)) for _ in range(rng.randint(5, 30)))
    }
    plan = draw_plan(rng, seed)
    plan.rules.append(FaultRule(rng.choice(["drop-after", "truncate", "status"]), rate=0.3, pattern="PUT /api/assets"))
    cfg = parse_config({"dates": {"enabled": True}})
    db = tmp_path / "m.db"

    def session(faults: FaultPlan | None) -> Session:
        return Session(cfg=cfg, db_path=db, client_factory=lambda: faulty_client(lib, version, faults),
                       sleep=lambda _s: None)

    for _ in range(3):
        s = session(plan)
        try:
            ops.run(s)
        except ImmichMirrorError:
            pass
        finally:
            s.close()
    s = session(None)
    try:
        ops.run(s)
        for asset_id, (month, day) in days.items():
            assert lib.assets[asset_id].date_time_original == datetime(2019, month, day, 12, tzinfo=UTC), asset_id
        with s.engine.connect() as conn:
            logged = conn.execute(text("SELECT asset_id, COUNT(*) FROM changes WHERE kind = 'set_date' "
                                       "GROUP BY asset_id")).all()
            left = conn.execute(text("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'failed')")).scalar()
        assert dict(logged) == dict.fromkeys(days, 1) and left == 0
        for run_id in sorted({r for (r,) in _runs_with_dates(s)}, reverse=True):
            ops.undo(s, run_id=run_id, apply=True)
    finally:
        s.close()
    assert all(lib.assets[a].date_time_original == upload for a in days)
    return sum(plan.injected.values())


def _runs_with_dates(s: Session) -> list[tuple[int]]:
    with s.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT DISTINCT run_id FROM changes WHERE kind = 'set_date'"))]


@pytest.mark.parametrize("seed", range(5))
def test_date_repair_under_faults(seed: int, tmp_path: Path) -> None:
    assert run_date_schedule(seed, tmp_path) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 160))
def test_date_repair_under_faults_slow(seed: int, tmp_path: Path) -> None:
    run_date_schedule(seed, tmp_path)
