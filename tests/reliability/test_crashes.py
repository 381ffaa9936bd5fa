"""SIGKILL during sync, classify and push (``crashes.py``): the rerun ends where an uninterrupted run ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crashes import crash_seed


def test_kills_then_rerun_match_an_uninterrupted_run(tmp_path: Path) -> None:
    stats = crash_seed(1, kills=3, tmp=tmp_path)
    assert stats.kills == 3


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 110))
def test_many_kills(seed: int, tmp_path: Path) -> None:
    stats = crash_seed(seed, kills=6, tmp=tmp_path)
    assert stats.kills == 6
