"""Duplicate propagation over a hand-filled mirror: copy, conflict, nothing, scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.autotag.mirror import Mirror

DUP = "autotag_output_duplicate_asset_classification_conflict"
CFG = {"duplicates": {"enabled": True}}


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def dup(m: Mirror, group: str, *ids: str) -> None:
    for asset_id in ids:
        if not m.rows("SELECT 1 FROM assets WHERE id = :a", a=asset_id):
            m.asset(asset_id)
        m.sql("UPDATE assets SET duplicate_id = :g WHERE id = :a", g=group, a=asset_id)


def feature_rows(m: Mirror) -> set[tuple[str, str, str | None]]:
    return {x for x in m.plan_set() if not x[1].startswith("autotag_output_unknown")}


def test_album_and_tag_are_copied_to_unclassified_members(m: Mirror) -> None:
    dup(m, "g1", "a1", "a2", "a3")
    m.album("al", "2019-06-01 Beach", "a1")
    dup(m, "g2", "b1", "b2")
    m.tag("b1", "autotag_input_meme")
    m.install(CFG)
    plan = feature_rows(m)
    assert ("album_add", "al", "a2") in plan and ("album_add", "al", "a3") in plan
    assert ("tag_add", "autotag_input_meme", "b2") in plan
    assert not {x for x in plan if x[2] in ("a1", "b1")}
    reasons = {r.asset_id: r.reason for r in m.plan() if r.kind == "album_add"}
    assert reasons["a2"] == 'duplicate of a member in album "2019-06-01 Beach"'


def test_members_classified_differently_are_all_flagged_then_unflagged(m: Mirror) -> None:
    dup(m, "g", "a1", "a2", "a3")
    m.album("al1", "2019-06-01 Beach", "a1")
    m.album("al2", "2019-07-01 Hike", "a2")
    m.install(CFG)
    plan = feature_rows(m)
    assert {x for x in plan if x[1] == DUP} == {("tag_add", DUP, a) for a in ("a1", "a2", "a3")}
    assert not {x for x in plan if x[0] == "album_add"}  # ambiguous: nothing copied
    for a in ("a1", "a2", "a3"):
        m.tag(a, DUP)
    # the user resolves it: a2 leaves the hike album; then a2, a3 get the beach album, the tag goes
    m.sql("DELETE FROM album_assets WHERE album_id = 'al2'")
    m.install(CFG)
    plan = feature_rows(m)
    assert {x for x in plan if x[1] == DUP} == {("tag_remove", DUP, a) for a in ("a1", "a2", "a3")}
    assert {("album_add", "al1", "a2"), ("album_add", "al1", "a3")} <= plan


def test_tag_and_album_in_one_group_conflict(m: Mirror) -> None:
    dup(m, "g", "a1", "a2")
    m.album("al1", "2019-06-01 Beach", "a1")
    m.tag("a2", "autotag_input_meme")
    m.install(CFG)
    assert {x for x in feature_rows(m) if x[1] == DUP} == {("tag_add", DUP, "a1"), ("tag_add", DUP, "a2")}


def test_unclassified_group_and_converged_group_plan_nothing(m: Mirror) -> None:
    dup(m, "g1", "a1", "a2")
    dup(m, "g2", "b1", "b2")
    m.tag("b1", "autotag_input_meme")
    m.tag("b2", "autotag_input_meme")
    m.install(CFG)
    assert not {x for x in feature_rows(m) if x[1] == DUP or x[0] == "album_add"}
    assert not {x for x in m.plan_set() if x[2] in ("b1", "b2")}


def test_scope_is_respected(m: Mirror) -> None:
    dup(m, "g", "a1", "a2", "a3")
    m.album("al", "2019-06-01 Beach", "a1")
    m.exclude("a2")
    m.sql("UPDATE assets SET is_trashed = 1 WHERE id = 'a3'")
    m.install(CFG)
    assert not {x for x in feature_rows(m) if x[0] == "album_add"}
    # an excluded member is no source either
    m.sql("DELETE FROM scope_exclude")
    m.exclude("a1")
    m.install(CFG)
    assert not {x for x in feature_rows(m) if x[0] == "album_add"}


def test_shared_album_is_not_copied_and_disabled_plans_nothing(m: Mirror) -> None:
    dup(m, "g", "a1", "a2")
    m.album("al", "2019-06-01 Beach", "a1")
    m.sql("UPDATE albums SET is_owned = 0")
    m.install(CFG)
    assert not {x for x in feature_rows(m) if x[0] == "album_add"}
    m.sql("UPDATE albums SET is_owned = 1")
    m.install({})
    assert not {x for x in feature_rows(m) if x[0] == "album_add"}
