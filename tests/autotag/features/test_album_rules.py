"""Album dates, tag-album rules and folder albums over a hand-filled mirror."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.autotag.mirror import Mirror

MISMATCH = "autotag_output_album_date_mismatch"


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def dated(m: Mirror, aid: str, day: str, path: str | None = None, external: bool = False) -> str:
    m.asset(aid, path=path)
    m.sql(
        "UPDATE assets SET local_date_time = :d || 'T12:00:00.000Z', library_id = :lib WHERE id = :a",
        d=day,
        a=aid,
        lib="lib-1" if external else None,
    )
    return aid


def test_album_dates_mark_far_assets_and_unmark_fixed_ones(m: Mirror) -> None:
    dated(m, "near", "2019-07-01")
    dated(m, "far", "2021-01-01")
    dated(m, "month_end", "2019-06-20")
    dated(m, "undated_album", "2001-01-01")
    m.album("day", "2019-06-01 Beach", "near", "far")
    m.album("month", "2018-12 Winter", "month_end", "near")
    m.album("plain", "Best of", "undated_album")
    cfg = {"album_dates": {"enabled": True, "max_days": 180}}
    m.install(cfg)
    rows = {(r.kind, r.asset_id): r.reason for r in m.plan() if r.target == MISMATCH}
    assert set(rows) == {("tag_add", "far"), ("tag_add", "near")}  # near is 212 days after 2018-12-31
    assert rows[("tag_add", "far")] == 'taken 2021-01-01, more than 180 days from album "2019-06-01 Beach"'
    m.tag("far", MISMATCH)
    m.tag("near", MISMATCH)
    m.sql("UPDATE assets SET local_date_time = '2019-06-02T12:00:00.000Z' WHERE id = 'far'")
    m.install({"album_dates": {"enabled": True, "max_days": 400}})
    assert {(r.kind, r.asset_id) for r in m.plan() if r.target == MISMATCH} == {
        ("tag_remove", "far"),
        ("tag_remove", "near"),
    }


def test_tag_album_rules_copy_both_ways_and_never_remove(m: Mirror) -> None:
    for a in ("a1", "a2", "a3", "a4"):
        m.asset(a)
    m.tag("a1", "people/alice")
    m.tag("a2", "people/alice/kids")
    m.album("al", "Alice", "a3")
    m.album("other", "Bob", "a4")
    cfg = {"tag_albums": {"enabled": True, "rules": [{"tag": "people/alice", "album": "Alice"}]}}
    m.install(cfg)
    plan = {x for x in m.plan_set() if not x[1].startswith("autotag_output")}
    assert plan == {
        ("album_add", "al", "a1"),
        ("album_add", "al", "a2"),
        ("tag_add", "people/alice", "a3"),
    }
    one_way = {"tag_albums": {"enabled": True, "rules": [{"tag": "people/alice", "album": "Alice",
                                                            "direction": "to_tag"}]}}
    m.install(one_way)
    assert {x for x in m.plan_set() if not x[1].startswith("autotag_output")} == {
        ("tag_add", "people/alice", "a3")
    }


def test_missing_album_is_created_by_name_and_two_albums_of_one_name_are_a_problem(m: Mirror) -> None:
    m.asset("a1")
    m.tag("a1", "pets/cat")
    m.asset("a2")
    m.tag("a2", "receipt")
    m.album("r1", "Receipts")
    m.album("r2", "Receipts")
    cfg = {
        "tag_albums": {
            "enabled": True,
            "rules": [
                {"tag": "pets/cat", "album": "Cats", "direction": "to_album"},
                {"tag": "receipt", "album": "Receipts", "direction": "to_album"},
            ],
        }
    }
    m.install(cfg)
    assert {x for x in m.plan_set() if x[0] == "album_add"} == {("album_add", "name:Cats", "a1")}
    assert m.rows("SELECT feature, problem FROM feature_problems") == [
        ("tag_albums", "several albums are named 'Receipts': add the assets by hand or rename one")
    ]


def test_folder_albums(m: Mirror) -> None:
    dated(m, "e1", "2019-06-01", path="/mnt/photos/2019/2019-06-01 Beach/DSC1.JPG", external=True)
    dated(m, "e2", "2019-06-01", path="/mnt/photos/2019/2019-06-01 Beach/DSC2.JPG", external=True)
    dated(m, "e3", "2019-07-01", path="/mnt/photos/2019/2019-07-01 Hike/DSC3.JPG", external=True)
    dated(m, "e4", "2019-07-01", path="/mnt/photos/misc/DSC4.JPG", external=True)
    dated(m, "up", "2019-07-01", path="/data/upload/u/2019-07-01 Hike/x.jpg")  # not external
    m.album("beach", "2019-06-01 Beach", "e1")
    m.install({"folder_albums": {"enabled": True}})
    plan = {x for x in m.plan_set() if x[0] == "album_add"}
    assert plan == {("album_add", "beach", "e2"), ("album_add", "name:2019-07-01 Hike", "e3")}
    custom = {"folder_albums": {"enabled": True, "rules": [
        {"path_regex": r"/photos/(?P<year>\d{4})/(?P<what>[^/]+)/", "album": "{year}: {what}",
         "external_only": False}]}}
    m.install(custom)
    assert {x[1] for x in m.plan_set() if x[0] == "album_add"} == {
        "name:2019: 2019-06-01 Beach", "name:2019: 2019-07-01 Hike"
    }
