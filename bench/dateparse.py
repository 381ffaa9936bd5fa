"""The date parser's case table, counted per family, and its speed on the table.

    python -m bench.dateparse        (also part of ``make bench``, which puts ``row()`` in docs/benchmarks.md)

Each family's row: cases, cases with a date, negatives, and how many the parser gets right.
"""

from __future__ import annotations

import time
from collections import Counter

from autotag.dateparse import FAMILIES, parse_path
from tests.dateparse.cases import CASES
from tests.dateparse.test_table import expected_of


def counts() -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per family: cases, cases with a date, and cases the parser reads as the table says."""
    total: Counter[str] = Counter()
    dated: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for family, path, expected, _why in CASES:
        total[family] += 1
        dated[family] += expected is not None
        found = parse_path(path)
        right[family] += expected_of(found) == expected and (found is None or found.family == family)
    return total, dated, right


def speed(rounds: int = 250) -> float:
    """Paths parsed a second, the whole table ``rounds`` times."""
    paths = [c[1] for c in CASES] * rounds
    start = time.perf_counter()
    for path in paths:
        parse_path(path)
    return len(paths) / (time.perf_counter() - start)


def row() -> tuple[str, str, str, str, str]:
    """The benchmarks table's row: what, ours, floor, ratio, target."""
    total, dated, right = counts()
    n, d = sum(total.values()), sum(dated.values())
    return (
        f"date parser case table ({len(FAMILIES)} families, `python -m bench.dateparse`)",
        f"{sum(right.values())}/{n} right ({d} dated, {n - d} no date); {speed(50):,.0f} paths/s",
        "-",
        "-",
        "every case right",
    )


def main() -> None:
    total, dated, right = counts()
    print(f"{'family':<18}{'cases':>7}{'dated':>7}{'none':>7}{'right':>7}")
    for family in (*FAMILIES, "none"):
        if total[family]:
            n = total[family]
            print(f"{family:<18}{n:>7}{dated[family]:>7}{n - dated[family]:>7}{right[family]:>7}")
    n = sum(total.values())
    print(f"{'total':<18}{n:>7}{sum(dated.values()):>7}{n - sum(dated.values()):>7}{sum(right.values()):>7}")
    rate = speed()
    print(f"speed: {rate:,.0f} paths/s ({len(CASES) * 250} parses of the table's {len(CASES)} paths)")


if __name__ == "__main__":
    main()
