"""Sorted date indexes over a library's assets, so a date-bounded search reads only its range.

An index answers "which assets have `attr` in this range" by bisection. It is rebuilt lazily, on
the first use after the library's revision moved (every change bumps it): reading each asset's date
once and a mostly linear sort, about 30 ms at 100k assets, paid once per revision instead of a scan
of the whole library per query. Mutations stay O(changed assets): they only bump the revision.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from operator import attrgetter

from immich_mirror.fake.library import FakeLibrary

# Comparison operators a range can answer (the 3.2 filter names); "ne" cannot narrow.
RANGE_OPS = ("eq", "gt", "gte", "lt", "lte")


class _DateIndex:
    def __init__(self) -> None:
        self.revision = -1
        self.keys: list[datetime] = []
        self.ids: list[str] = []


class DateIndexes:
    """One sorted index per asset date attribute, built on first use at each library revision."""

    def __init__(self, library: FakeLibrary) -> None:
        self.lib = library
        self._indexes: dict[str, _DateIndex] = {}
        self.rebuilds = 0

    def ids_in_range(self, attr: str, op: str, value: datetime) -> list[str]:
        """Ids of the assets whose `attr` is not None and compares to `value` as `op` says."""
        index = self._current(attr)
        keys = index.keys
        if op == "gte":
            return index.ids[bisect_left(keys, value):]
        if op == "gt":
            return index.ids[bisect_right(keys, value):]
        if op == "lte":
            return index.ids[:bisect_right(keys, value)]
        if op == "lt":
            return index.ids[:bisect_left(keys, value)]
        if op == "eq":
            return index.ids[bisect_left(keys, value):bisect_right(keys, value)]
        raise ValueError(f"not a range operator: {op!r}")

    def _current(self, attr: str) -> _DateIndex:
        index = self._indexes.setdefault(attr, _DateIndex())
        if index.revision == self.lib.revision:
            return index
        assets = self.lib.assets
        ids = list(assets)
        keys = list(map(attrgetter(attr), assets.values()))
        # Sorting positions by key reads each asset once; the dates of a library are mostly in
        # insertion order already, which timsort merges in linear time.
        dated = range(len(keys)) if None not in keys else [i for i, k in enumerate(keys) if k is not None]
        perm = sorted(dated, key=keys.__getitem__)
        index.keys = [keys[i] for i in perm]
        index.ids = [ids[i] for i in perm]
        index.revision = self.lib.revision
        self.rebuilds += 1
        return index
