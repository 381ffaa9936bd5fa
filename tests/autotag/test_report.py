"""`autotag report`: the statistics equal the SQL counts, the CSV is the changes table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import text

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.report import status_info, write_report
from autotag.session import Session
from immich_mirror.fake.generate import generate_library
from tests.helpers import fake_client


def test_report_numbers_equal_sql_counts(tmp_path: Path) -> None:
    library = generate_library(500, seed=9)
    session = Session(cfg=AutotagConfig(), db_path=tmp_path / "m.db", client_factory=lambda: fake_client(library))
    first = ops.run(session)
    beach = next(a for a in library.albums.values() if a.name[:4].isdigit())
    with session.engine.connect() as conn:
        loose = conn.execute(text("SELECT asset_id FROM unclassified ORDER BY asset_id LIMIT 3")).scalars().all()
    library.add_to_album(beach.id, loose)
    ops.run(session)
    paths = write_report(session, tmp_path / "report")
    stats = json.loads((tmp_path / "report" / "statistics.json").read_text())
    with session.engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())

        assert stats["totals"]["assets_in_scope"] == one("SELECT COUNT(*) FROM classification")
        for status in ("classified", "unclassified", "conflict"):
            expected = one(f"SELECT COUNT(*) FROM classification WHERE status = '{status}'")
            assert stats["totals"].get(status, 0) == expected
        assert stats["conflicts"] == one("SELECT COUNT(*) FROM conflicts")
        for rule, n in stats["by_rule"].items():
            assert n == one(f"SELECT COUNT(DISTINCT asset_id) FROM rule_matches WHERE rule = '{rule}'")
        for album in stats["by_album"]:
            assert album["assets"] == one(
                f"SELECT COUNT(DISTINCT asset_id) FROM rule_matches WHERE album_id = '{album['album_id']}'"
            )
        # one per effect on an asset (autotag.counts); the tags and albums created are counted by kind
        assert sum(r["changes"] for r in stats["changes_per_run"]) == one(
            "SELECT COUNT(*) FROM (SELECT DISTINCT run_id, kind, target, asset_id FROM changes "
            "WHERE after IS NOT NULL AND kind NOT IN ('tag_create', 'album_create'))"
        )
        assert sum(sum(r["by_kind"].values()) for r in stats["changes_per_run"]) == one(
            "SELECT COUNT(*) FROM (SELECT DISTINCT run_id, kind, target, asset_id FROM changes WHERE after IS NOT NULL)"
        )
        # the marker tags the first run created are logged (for undo), but the run's count is its changes
        assert one("SELECT COUNT(*) FROM changes WHERE kind = 'tag_create'") > 0
        pushed = next(r for r in stats["changes_per_run"] if r["command"] == "run")
        assert pushed["changes"] == first.push.sent
        rows = list(csv.reader((tmp_path / "report" / "changes.csv").open()))
        assert len(rows) - 1 == one("SELECT COUNT(*) FROM changes")
    trend = stats["trend"]
    assert len(trend) == 2 and trend[1]["unclassified"] == trend[0]["unclassified"] - 3
    summary = (tmp_path / "report" / "summary.txt").read_text()
    assert f"unclassified: {stats['totals']['unclassified']}" in summary
    assert len(paths) == 4
    # The progress chart: one point per classify run and series, the same numbers as the trend.
    chart = (tmp_path / "report" / "progress.svg").read_text()
    assert chart.startswith("<svg") and chart.count("<circle") == 2 * len(trend) and chart.count("<polyline") == 2
    assert f"{trend[1]['unclassified']} unclassified" in chart
    info = status_info(session)
    assert info["assets"] == len([a for a in library.assets.values() if a.owner_id == library.owner_id])
    # The last sync as `autotag sync` printed it: every entity, requests and seconds.
    last = info["last sync"]
    for part in ("assets +0 ~", "albums +", "album links +", "tags +", "tag links +", " requests, ", " s"):
        assert part in last, last
    session.close()
