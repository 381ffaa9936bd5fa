from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from immich_mirror.sync.prefetch import prefetched


def test_yields_everything_in_order() -> None:
    assert list(prefetched(iter(range(50)), depth=3)) == list(range(50))


def test_an_error_in_the_source_is_raised_at_its_place() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("cut")

    got = []
    with pytest.raises(ConnectionError, match="cut"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_and_joins_the_reader() -> None:
    produced = []

    def source() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    before = threading.active_count()
    for item in prefetched(source(), depth=2):
        if item == 5:
            break
    assert threading.active_count() == before
    assert len(produced) <= 5 + 1 + 2 + 1
