"""The one timing rule the benchmarks share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best(repeat: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``repeat`` calls, in seconds: a noisy moment on a shared machine does not decide."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
