"""Seeded fault schedules (see ``schedules.py``): sync converges, push applies each mutation once in effect.

The default suite runs a handful of seeds, chosen because they once failed: 17 and 3 lose the answer
to an applied tag write (the change must still reach ``changes``, so undo can revert it), 30 and 45 break
a sync between its asset pass and its tag pass (the next sync must still re-read those tags),
1086 purges an asset from the trash.
``make test-slow`` runs 200 more.
"""

from __future__ import annotations

import logging
from pathlib import Path
from random import Random

import pytest

from autotag import session as ops
from tests.helpers import assert_mirror_equals_server
from tests.reliability.schedules import build_library, run_schedule, session_for

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
