"""docs/rules.md: the organiser features' example queries run, and their views are documented."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from tests.autotag.mirror import Mirror

DOC = (Path(__file__).parents[3] / "docs" / "rules.md").read_text(encoding="utf-8")
ALL_ON = {
    "duplicates": {"enabled": True},
    "dates": {"enabled": True},
    "album_dates": {"enabled": True},
    "folder_albums": {"enabled": True},
    "tag_albums": {"enabled": True, "rules": [{"tag": "x", "album": "X"}]},
    "smart_albums": [{"album": "S", "tags": "x", "sql": "1"}],
}


def test_feature_queries_run_and_views_are_documented(tmp_path: Path) -> None:
    m = Mirror(tmp_path / "m.db")
    m.asset("a", path="/mnt/p/2019-06-01 Beach/IMG_20190601_120000.jpg")
    m.install(ALL_ON)
    statements = [s.strip() for b in re.findall(r"```SQL\n(.*?)```", DOC, flags=re.S) for s in b.split(";")]
    assert len([s for s in statements if s]) >= 2
    with m.engine.connect() as conn:
        for statement in filter(None, statements):
            conn.execute(text(statement)).fetchall()
        conn.execute(text("SELECT * FROM plan")).fetchall()
    views = {str(r[0]) for r in m.rows("SELECT name FROM sqlite_master WHERE type = 'view'")}
    documented = set(re.findall(r"^\| `(\w+)`", DOC, flags=re.M))
    assert views - {"duplicate_groups"} <= documented | {"unclassified", "conflicts", "smart_album_sql_0"}
