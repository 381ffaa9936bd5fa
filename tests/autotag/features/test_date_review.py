"""The dry run groups date changes by the rule and family that produced them, with old -> new values,
and dates.families leaves a family out (docs/rules.md, "Reviewing")."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from autotag import render
from autotag import session as ops
from autotag.config import parse_config
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def library() -> FakeLibrary:
    lib = FakeLibrary(seed=4)
    for n in range(3):
        lib.add_asset(f"IMG-2019010{n + 1}-WA000{n}.jpg", file_created_at=UPLOAD)
    lib.add_asset("Screenshot 2021-03-02 at 7.12.05 PM.png", file_created_at=UPLOAD)
    lib.add_asset("DSC01234.JPG", original_path="/mnt/p/2016-08-14 Lakes/DSC01234.JPG", file_created_at=UPLOAD)
    return lib


def test_dry_run_groups_date_changes_by_rule_and_family(tmp_path: Path) -> None:
    s = fake_session(library(), tmp_path / "m.db", cfg=parse_config({"dates": {"enabled": True}}))
    try:
        ops.sync(s)
        result = ops.classify(s, dry_run=True, preview=None)
    finally:
        s.close()
    groups = {(g["rule"], g["family"]): g for g in result.date_changes}
    assert {k: g["count"] for k, g in groups.items()} == {
        ("name", "whatsapp"): 3, ("name", "screenshot"): 1, ("folder", "folder"): 1,
    }
    assert sum(g["count"] for g in result.date_changes) == result.summary.kinds["set_date"]  # one count
    shot = groups[("name", "screenshot")]["changes"][0]
    assert shot["name"] == "Screenshot 2021-03-02 at 7.12.05 PM.png"
    assert (shot["old"], shot["new"]) == ("2024-03-01 10:00:00", "2021-03-02 19:12:05 +00:00")
    out = io.StringIO()
    render.plan(Console(file=out, width=200), result, result.rows, base="", limit=0)
    text = out.getvalue()
    assert "dates:  5 change(s) by rule" in text
    assert "name (whatsapp)" in text and "folder" in text
    assert "DSC01234.JPG: 2024-03-01 10:00:00 -> 2016-08-14 12:00:00 +00:00" in text


def test_families_switched_off_leave_the_plan(tmp_path: Path) -> None:
    cfg = parse_config({"dates": {"enabled": True, "families": {"whatsapp": False, "folder": False}}})
    s = fake_session(library(), tmp_path / "m.db", cfg=cfg)
    try:
        ops.sync(s)
        result = ops.classify(s, dry_run=True, preview=None)
    finally:
        s.close()
    assert [(g["rule"], g["family"], g["count"]) for g in result.date_changes] == [("name", "screenshot", 1)]
