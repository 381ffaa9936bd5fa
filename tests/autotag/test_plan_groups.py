"""Grouping and wording of plan rows for `autotag review`: names, not ids; every row in one group."""

from __future__ import annotations

from autotag.plan import PlanRow
from autotag.plan_groups import Labels, date_family, date_group_names, describe, group_key, group_plan

LABELS = Labels(
    markers=frozenset({"autotag_output_unknown", "autotag_output_conflict"}),
    feature_tags={"autotag_output_album_date_mismatch": "album dates"},
    album_names={"a1": "2023-05-12 Beach"},
    asset_rules={"x": "event_album,meme", "y": "meme"},
)


def row(kind: str, target: str, asset: str = "x", reason: str | None = None, **kw: str | None) -> PlanRow:
    return PlanRow(kind, target, asset, kw.get("payload"), kw.get("before"), reason, f"{kind}:{target}:{asset}")


def test_changes_are_written_with_names() -> None:
    assert describe(row("album_add", "a1"), LABELS) == 'add to album "2023-05-12 Beach"'
    assert describe(row("album_add", "name:Alice"), LABELS) == 'add to new album "Alice"'
    assert describe(row("tag_remove", "autotag_output_unknown"), LABELS) == "remove tag autotag_output_unknown"
    moved = row("set_date", "date", payload='{"dateTimeOriginal": "2017-01-02T12:00:00+00:00"}',
                before='{"dateTimeOriginal": "2024-03-01T11:33:27.000Z", "timeZone": "Europe/Paris"}')
    assert describe(moved, LABELS) == "date 2024-03-01 11:33:27 Z (Europe/Paris) -> 2017-01-02 12:00:00 +00:00"
    assert describe(row("set_date", "date", before="null", payload="{}"), LABELS) == "date none -> none"


def test_groups_by_feature_then_rule_album_tag_or_family() -> None:
    assert group_key(row("tag_add", "autotag_output_conflict"), LABELS) == (
        "markers", "add autotag_output_conflict (rules event_album,meme)")
    assert group_key(row("tag_remove", "autotag_output_unknown", "y"), LABELS) == (
        "markers", "remove autotag_output_unknown (rule meme)")
    assert group_key(row("tag_add", "autotag_output_unknown", "z"), LABELS) == ("markers", "add autotag_output_unknown")
    assert group_key(row("tag_add", "autotag_output_album_date_mismatch"), LABELS)[0] == "album dates"
    assert group_key(row("tag_add", "people/alice"), LABELS) == ("tags", "add tag people/alice")
    assert group_key(row("album_add", "a1"), LABELS) == ("albums", 'add to album "2023-05-12 Beach"')
    assert date_family("date 2024 -> 2017 (+00:00) from the file name, earlier") == "from the file name"
    assert date_family("date a -> b from the duplicate VID_20100722_0.mp4") == "from the duplicate"
    assert date_family(None) == date_family("no source given") == "dates"
    # the dry run's own date groups win over the wording of the reason
    grouped = Labels(LABELS.markers, LABELS.feature_tags, LABELS.album_names, LABELS.asset_rules,
                     date_group_names([{"rule": "file name", "family": "whatsapp", "changes": [{"asset_id": "d"}]},
                                       {"rule": "folder", "family": "folder", "changes": [{"asset_id": "e"}]}]))
    assert group_key(row("set_date", "date", "d", "from the file name"), grouped) == ("dates", "file name (whatsapp)")
    assert group_key(row("set_date", "date", "e"), grouped) == ("dates", "folder")


def test_every_row_is_in_exactly_one_group_in_feature_order() -> None:
    rows = [row("album_add", "a1", str(i)) for i in range(3)] + [
        row("tag_add", "autotag_output_unknown", str(i)) for i in range(5)
    ] + [row("set_date", "date", "d", "from the folder"), row("album_create", "b", None)]
    groups = group_plan(rows, LABELS)
    assert sum(len(g.items) for g in groups) == len(rows)
    assert [g.feature for g in groups] == ["markers", "dates", "albums", "album_create"]
    assert len({g.id for g in groups}) == len(groups)
