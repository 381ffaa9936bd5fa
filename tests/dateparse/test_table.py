"""The parser against its case table (tests/dateparse/cases.py): each case's date, precision, kind and family."""

from __future__ import annotations

import pytest

from autotag.dateparse import FAMILIES, FoundDate, parse_path
from tests.dateparse.cases import CASES


def expected_of(found: FoundDate | None) -> str | None:
    """A parse written the way the table writes it."""
    if found is None:
        return None
    if found.precision == "time":
        return found.value.replace("T", " ") + ("Z" if found.instant else "")
    return found.value


@pytest.mark.parametrize(("family", "path", "expected", "why"), CASES, ids=[c[1] for c in CASES])
def test_case(family: str, path: str, expected: str | None, why: str) -> None:
    found = parse_path(path)
    assert expected_of(found) == expected, why
    if found is not None:
        assert found.family == family, why


def test_table_is_large_and_covers_every_family() -> None:
    assert len(CASES) >= 680
    named = {c[0] for c in CASES}
    assert set(FAMILIES) - {"pattern"} <= named
    assert sum(1 for c in CASES if c[2] is None) >= 190


def test_name_beats_folder_and_folder_is_a_fallback() -> None:
    assert parse_path("/2016-08-14 Lakes/IMG_20160815_101112.jpg") == FoundDate(
        "2016-08-15T10:11:12", "time", False, "camera", "name"
    )
    assert parse_path("/2016-08-14 Lakes/IMG_1234.jpg") == FoundDate("2016-08-14", "day", False, "folder", "folder")


def test_name_argument_wins_over_the_path_last_part() -> None:
    found = parse_path("/upload/ab/cd/0f1e.jpg", "IMG-20200101-WA0001.jpg")
    assert found is not None and found.value == "2020-01-01"
