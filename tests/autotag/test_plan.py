from __future__ import annotations

from pathlib import Path

import pytest

from autotag.plan import PlanSource, install_rules, plan_rows, plan_summary
from tests.autotag.mirror import Mirror

UNKNOWN = "autotag_output_unknown"
CONFLICT = "autotag_output_conflict"


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def test_markers_added_then_removed_once_fixed(m: Mirror) -> None:
    m.asset("loose")
    m.asset("both")
    m.asset("ok")
    m.album("al1", "2023-01 Ski", "both", "ok")
    m.tag("both", "autotag_input_meme")
    m.install()
    rows = m.plan()
    assert {(r.kind, r.target, r.asset_id, r.idem_key) for r in rows} == {
        ("tag_add", UNKNOWN, "loose", f"tag_add:{UNKNOWN}:loose"),
        ("tag_add", CONFLICT, "both", f"tag_add:{CONFLICT}:both"),
    }
    reasons = {r.asset_id: r.reason for r in rows}
    assert reasons == {
        "loose": "unclassified: no rule matched",
        "both": "conflict: rules event_album,meme via albums '2023-01 Ski'",
    }
    assert all(r.payload is None and r.before is None for r in rows)

    m.apply()
    assert m.plan() == []  # in sync: nothing to do

    # The user fixes both: the markers come off.
    m.album("al2", "2023-02 Party", "loose")
    m.untag("both", "autotag_input_meme")
    assert m.plan_set() == {("tag_remove", UNKNOWN, "loose"), ("tag_remove", CONFLICT, "both")}
    assert {r.reason for r in m.plan()} == {"classified: rule event_album"}
    m.apply()
    assert m.plan() == []


def test_status_change_swaps_markers(m: Mirror) -> None:
    m.asset("a")
    m.install()
    m.apply()
    m.album("al1", "2023-01 Ski", "a")
    m.album("al2", "2023-02 Party", "a")
    assert m.plan_set() == {("tag_add", CONFLICT, "a"), ("tag_remove", UNKNOWN, "a")}
    assert {r.reason for r in m.plan() if r.kind == "tag_remove"} == {"now conflict"}


def test_out_of_scope_markers_are_left_alone(m: Mirror) -> None:
    for a in ("trashed", "hidden", "partner", "excluded", "not_only", "in_only"):
        m.asset(
            a,
            visibility="hidden" if a == "hidden" else "timeline",
            owner="p" if a == "partner" else "owner-1",
        )
        m.tag(a, UNKNOWN)
        m.album(f"al-{a}", "2020-01 Done", a)  # all classified now: their marker would come off in scope
    m.sql("UPDATE assets SET is_trashed = 1 WHERE id = 'trashed'")
    m.exclude("excluded")
    m.only("in_only")
    m.install()
    assert m.plan_set() == {("tag_remove", UNKNOWN, "in_only")}


def test_excluded_assets_never_get_markers(m: Mirror) -> None:
    m.asset("a")
    m.asset("b")
    m.exclude("a")
    m.install()
    assert m.plan_set() == {("tag_add", UNKNOWN, "b")}


def test_renamed_marker(m: Mirror) -> None:
    m.asset("a")
    m.install()
    m.apply()
    m.install({"markers": {"unclassified": "todo/sort-me"}})
    # The old marker is no longer ours to manage: only the new one is planned.
    assert m.plan_set() == {("tag_add", "todo/sort-me", "a")}
    m.apply()
    assert m.plan() == []
    assert m.rows("SELECT tag_value FROM current_markers") == [("todo/sort-me",)]


def test_marker_tag_missing_from_mirror_has_no_members(m: Mirror) -> None:
    m.asset("a")
    m.install()
    assert m.rows("SELECT count(*) FROM tags") == [(0,)]
    assert m.rows("SELECT * FROM desired_markers") == [("a", UNKNOWN, "unclassified: no rule matched")]
    assert m.plan_set() == {("tag_add", UNKNOWN, "a")}


def test_summary_and_limit(m: Mirror) -> None:
    for a in ("a", "b", "c", "d"):
        m.asset(a)
    m.album("al1", "2023-01 Ski", "a", "b")
    m.tag("b", "autotag_input_meme")
    m.install()
    with m.engine.connect() as conn:
        summary = plan_summary(conn)
        assert summary.statuses == {"classified": 1, "unclassified": 2, "conflict": 1}
        assert summary.rules == {
            "event_album": 2,
            "meme": 1,
            "adult_meme": 0,
            "pending_review": 0,
            "ignore": 0,
        }
        # the markers' tags do not exist yet: the push creates them, and that is counted too
        assert summary.kinds == {"tag_create": 2, "tag_add": 3}
        assert (summary.assets, summary.changes, summary.rows) == (4, 3, 3)
        rows = list(plan_rows(conn, limit=2))
    assert [(r.target, r.asset_id) for r in rows] == [(CONFLICT, "b"), (UNKNOWN, "c")]


def test_plan_union_takes_extra_sources(m: Mirror) -> None:
    m.asset("a")
    extra = PlanSource(
        view="date_plan",
        views={
            "date_plan": "SELECT 'date_set' AS kind, 'dateTimeOriginal' AS target, id AS asset_id, "
            "'{\"dateTimeOriginal\": \"2020\"}' AS payload, 'because' AS reason, "
            "'date_set:' || id AS idem_key FROM assets"
        },
        columns={"payload": "payload"},
    )
    install_rules(m.engine, m.install(), extra=[extra])
    assert {(r.kind, r.payload) for r in m.plan()} == {
        ("tag_add", None),
        ("date_set", '{"dateTimeOriginal": "2020"}'),
    }


def test_outbox_can_enqueue_from_plan(m: Mirror) -> None:
    m.asset("a")
    m.install()
    m.sql(
        "INSERT INTO outbox (kind, target, asset_id, payload, before, reason, idem_key, "
        "created_at, updated_at) "
        "SELECT kind, target, asset_id, payload, before, reason, idem_key, 'now', 'now' FROM plan"
    )
    assert m.rows("SELECT kind, target, asset_id, state FROM outbox") == [
        ("tag_add", UNKNOWN, "a", "pending")
    ]
