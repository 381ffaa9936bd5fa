"""Date repair over a hand-filled mirror: patterns, the policy, time zones, duplicates, convergence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotag.plan import PlanRow
from tests.autotag.mirror import Mirror

CFG = {"dates": {"enabled": True}}


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def asset(m: Mirror, aid: str, name: str, local: str, tz: str | None = None, path: str | None = None) -> str:
    """`local` is the wall clock; date_time_original is derived as Immich does for a zone-less asset."""
    m.asset(aid, path=path)
    utc = local if tz is None else None
    m.sql(
        "UPDATE assets SET original_file_name = :n, local_date_time = :l || '.000Z', "
        "date_time_original = :u, time_zone = :tz WHERE id = :a",
        n=name,
        l=local,
        u=(utc + ".000Z") if utc else None,
        tz=tz,
        a=aid,
    )
    return aid


def dates(m: Mirror, cfg: dict[str, object] = CFG) -> dict[str, PlanRow]:
    m.install(cfg)
    return {r.asset_id or "": r for r in m.plan() if r.kind == "set_date"}


def new(row: PlanRow) -> str:
    return str(json.loads(row.payload or "{}")["dateTimeOriginal"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_20190412_153000.jpg", "2019-04-12T15:30:00+00:00"),
        ("VID_20190412_153000.mp4", "2019-04-12T15:30:00+00:00"),
        ("PXL_20210101_123456789.jpg", "2021-01-01T12:34:56+00:00"),
        ("IMG-20200101-WA0001.jpg", "2020-01-01T12:00:00+00:00"),
        ("Screenshot_2020-01-01-12-00-00.png", "2020-01-01T12:00:00+00:00"),
        ("Screenshot 2020-01-01 at 12.00.00.png", "2020-01-01T12:00:00+00:00"),
        ("2020-01-01 12.00.00.jpg", "2020-01-01T12:00:00+00:00"),
        ("20200101_120000.jpg", "2020-01-01T12:00:00+00:00"),
        ("signal-2020-01-01-120000.jpg", "2020-01-01T12:00:00+00:00"),
    ],
)
def test_upload_dated_assets_get_the_date_in_their_name(m: Mirror, name: str, expected: str) -> None:
    asset(m, "a", name, "2024-03-01T10:00:00")
    plan = dates(m)
    assert new(plan["a"]) == expected
    assert json.loads(plan["a"].before or "{}") == {"dateTimeOriginal": "2024-03-01T10:00:00+00:00"}
    assert plan["a"].reason is not None and plan["a"].reason.startswith("date 2024-03-01 10:00:00 -> 2020"[:27])


def test_dated_folder_and_unparseable_names(m: Mirror) -> None:
    asset(m, "f", "DSC01234.JPG", "2024-03-01T10:00:00", path="/mnt/p/2019/2019-06-01 Beach/DSC01234.JPG")
    asset(m, "x", "DSC01235.JPG", "2024-03-01T10:00:00")
    asset(m, "bad", "IMG_20191332_153000.jpg", "2024-03-01T10:00:00")  # month 13: no date
    plan = dates(m)
    assert new(plan["f"]) == "2019-06-01T12:00:00+00:00"
    assert "folder" in (plan["f"].reason or "")
    assert set(plan) == {"f"}


def test_policy_credible_dates_move_only_earlier_and_far(m: Mirror) -> None:
    asset(m, "tz", "IMG_20190412_153000.jpg", "2019-04-12T17:30:00")  # name in UTC, EXIF local: kept
    asset(m, "later", "IMG_20190412_153000.jpg", "2015-01-01T10:00:00")  # never moved later
    asset(m, "sameday", "IMG-20200101-WA0001.jpg", "2020-01-01T18:00:00")  # day-only, same day: kept
    asset(m, "dayafter", "IMG-20200101-WA0001.jpg", "2020-01-02T09:00:00")  # day-only, other day: fixed
    asset(m, "epoch", "IMG_20190412_153000.jpg", "1970-01-01T00:00:05")  # not credible: fixed
    asset(m, "reset", "IMG_20190412_153000.jpg", "2000-01-01T00:00:00")  # camera reset: fixed
    asset(m, "old", "IMG_19850412_153000.jpg", "2024-03-01T10:00:00")  # candidate before 1990: ignored
    asset(m, "future", "IMG_20990412_153000.jpg", "2024-03-01T10:00:00")  # candidate in the future: ignored
    plan = dates(m)
    assert set(plan) == {"dayafter", "epoch", "reset"}
    assert new(plan["dayafter"]) == "2020-01-01T12:00:00+00:00"
    assert "not credible" in (plan["epoch"].reason or "")


def test_thresholds_are_configurable(m: Mirror) -> None:
    asset(m, "tz", "IMG_20190412_153000.jpg", "2019-04-12T17:30:00")
    asset(m, "old", "IMG_19850412_153000.jpg", "2024-03-01T10:00:00")
    cfg = {"dates": {"enabled": True, "min_difference_hours": 1, "min_date": "1980-01-01"}}
    assert set(dates(m, cfg)) == {"tz", "old"}


def test_time_zone_rule(m: Mirror) -> None:
    asset(m, "berlin", "IMG_20190412_153000.jpg", "2000-01-01T00:00:00", tz="Europe/Berlin")
    asset(m, "label", "IMG_20190112_153000.jpg", "2000-01-01T00:00:00", tz="UTC-5")
    asset(m, "none", "IMG_20190712_153000.jpg", "2000-01-01T00:00:00")
    plan = dates(m, {"dates": {"enabled": True, "default_time_zone": "Asia/Tokyo"}})
    assert json.loads(plan["berlin"].payload or "") == {
        "dateTimeOriginal": "2019-04-12T15:30:00+02:00",
        "timeZone": "Europe/Berlin",
    }
    assert json.loads(plan["label"].payload or "") == {"dateTimeOriginal": "2019-01-12T15:30:00-05:00"}
    assert json.loads(plan["none"].payload or "") == {
        "dateTimeOriginal": "2019-07-12T15:30:00+09:00",
        "timeZone": "Asia/Tokyo",
    }


def test_duplicates_give_their_date_and_zone(m: Mirror) -> None:
    asset(m, "orig", "DSC01234.JPG", "2019-04-12T15:30:00", tz="UTC+2")
    m.sql("UPDATE assets SET date_time_original = '2019-04-12T13:30:00.000Z' WHERE id = 'orig'")
    asset(m, "copy", "IMG-20190413-WA0001.jpg", "2024-03-01T10:00:00")
    asset(m, "lone", "DSC09999.JPG", "2024-03-01T10:00:00")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('orig', 'copy')")
    plan = dates(m)
    assert set(plan) == {"copy"}
    assert new(plan["copy"]) == "2019-04-12T15:30:00+02:00"
    assert "duplicate DSC01234.JPG" in (plan["copy"].reason or "")
    assert set(dates(m, {"dates": {"enabled": True, "from_duplicates": False}})) == {"copy"}  # WhatsApp day


def test_nothing_more_once_applied_or_synced_and_scope(m: Mirror) -> None:
    asset(m, "a", "IMG_20190412_153000.jpg", "2024-03-01T10:00:00", tz="Europe/Berlin")
    asset(m, "b", "IMG_20190412_153000.jpg", "2024-03-01T10:00:00")
    asset(m, "gone", "IMG_20190412_153000.jpg", "2024-03-01T10:00:00")
    m.exclude("gone")
    plan = dates(m)
    assert set(plan) == {"a", "b"}
    # the push wrote the EXIF date; the timeline date (local_date_time) has not followed yet
    m.sql("UPDATE assets SET date_time_original = '2019-04-12T15:30:00+02:00' WHERE id = 'a'")
    # the next sync saw b settled
    m.sql(
        "UPDATE assets SET date_time_original = '2019-04-12T15:30:00.000Z', time_zone = 'UTC+0', "
        "local_date_time = '2019-04-12T15:30:00.000Z' WHERE id = 'b'"
    )
    assert dates(m) == {}
    # renamed on the server: parsed again
    m.sql("UPDATE assets SET original_file_name = 'IMG_20180101_000000.jpg' WHERE id = 'b'")
    assert set(dates(m)) == {"b"}
