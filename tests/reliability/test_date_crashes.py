"""A crash before or after any date write of a push, then a rerun: the same dates and zones as an
uninterrupted run, field by field (``date_crashes.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.date_crashes import assert_same_dates, crash_then_rerun, reference


def _schedule(seed: int, version: str, tmp: Path, points: list[int] | None = None) -> int:
    expected, writes = reference(seed, version, tmp)
    assert writes > 0
    for k in points if points is not None else range(writes):
        for after in (False, True):
            got = crash_then_rerun(seed, version, tmp, min(k, writes - 1), after=after)
            assert_same_dates(expected, got, f"seed {seed}, crash {'after' if after else 'before'} date write {k}")
    return writes


@pytest.mark.parametrize(("seed", "version"), [(1, "3.1.0"), (2, "2.7.5")])
def test_a_crash_in_a_date_push_then_a_rerun_ends_as_an_uninterrupted_run(
    seed: int, version: str, tmp_path: Path
) -> None:
    _schedule(seed, version, tmp_path, points=[0, 2, 99])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 112))
def test_a_crash_at_every_date_write(seed: int, tmp_path: Path) -> None:
    _schedule(seed, ("2.7.5", "3.1.0", "3.2.2")[seed % 3], tmp_path)
