"""Seeded fault schedules (see ``schedules.py``): sync converges, push applies each mutation once in effect.

The default suite runs a handful of seeds, chosen because they once failed: 17 and 3 lose the answer
to an applied tag write (the change must still reach ``changes``, so undo can revert it), 30 and 45 break
a sync between its asset pass and its tag pass (the next sync must still re-read those tags).
``make test-slow`` runs 200 more.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.reliability.schedules import run_schedule

REGRESSIONS = [3, 17, 30, 45]


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
