"""The date parser's case table, counted per family, and its speed on the table.

    python -m bench.dateparse        (also part of ``make bench``)

Each family's row: cases, cases with a date, negatives, and how many the parser gets right.
"""

from __future__ import annotations

import time
from collections import Counter

from autotag.dateparse import FAMILIES, parse_path
from tests.dateparse.cases import CASES
from tests.dateparse.test_table import expected_of


def main() -> None:
    total: Counter[str] = Counter()
    dated: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for family, path, expected, _why in CASES:
        total[family] += 1
        dated[family] += expected is not None
        found = parse_path(path)
        right[family] += expected_of(found) == expected and (found is None or found.family == family)
    print(f"{'family':<18}{'cases':>7}{'dated':>7}{'none':>7}{'right':>7}")
    for family in (*FAMILIES, "none"):
        if total[family]:
            n = total[family]
            print(f"{family:<18}{n:>7}{dated[family]:>7}{n - dated[family]:>7}{right[family]:>7}")
    n = sum(total.values())
    print(f"{'total':<18}{n:>7}{sum(dated.values()):>7}{n - sum(dated.values()):>7}{sum(right.values()):>7}")
    paths = [c[1] for c in CASES] * 250
    start = time.perf_counter()
    for path in paths:
        parse_path(path)
    elapsed = time.perf_counter() - start
    print(f"speed: {len(paths) / elapsed:,.0f} paths/s ({len(paths)} parses in {elapsed:.2f} s)")


if __name__ == "__main__":
    main()
