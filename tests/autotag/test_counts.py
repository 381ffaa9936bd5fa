"""One count: the dry run, `run`, `report`, the change log and `undo` count the same changes, by kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from autotag.cli import main
from autotag.counts import CREATIONS, REVERTS
from autotag.demo import demo_config_text
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_dry_run_run_report_log_and_undo_count_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(demo_config_text(), encoding="utf-8")  # every organiser feature on
    config.chmod(0o600)
    assert yaml.safe_load(config.read_text())["folder_albums"]["enabled"] is True
    db = tmp_path / "m.db"
    with running_fake_server(generate_library(400, seed=7)) as (url, key):
        for name, value in {"IMMICH_URL": url, "IMMICH_API_KEY": key, "AUTOTAG_DB": str(db),
                            "AUTOTAG_CONFIG": str(config)}.items():
            monkeypatch.setenv(name, value)
        _cli(capsys, "sync")
        dry = json.loads(_cli(capsys, "classify", "--dry-run", "--json"))
        ran = json.loads(_cli(capsys, "run", "--json"))
        _cli(capsys, "report", str(tmp_path / "report"))
        undo = _cli(capsys, "undo")

    planned = dry["by_kind"]
    assert {"tag_add", "album_add", "album_create", "set_date"} <= set(planned)  # every kind is exercised
    changed = {k: n for k, n in planned.items() if k not in CREATIONS}  # the creations are counted beside
    assert dry["changes"] == sum(changed.values()) == len(dry["mutations"])
    assert ran["by_kind"] == planned and ran["changes"] == dry["changes"]
    # the statuses the dry run announces are the ones the run leaves
    assert (ran["unclassified"], ran["conflicts"]) == (dry["by_status"]["unclassified"], dry["by_status"]["conflict"])

    stats = json.loads((tmp_path / "report" / "statistics.json").read_text())
    [reported] = [r for r in stats["changes_per_run"] if r["run"] == ran["run"]]
    assert reported["by_kind"] == planned and reported["changes"] == dry["changes"]
    summary = (tmp_path / "report" / "summary.txt").read_text()
    assert re.search(rf"run {ran['run']} .*run: {dry['changes']} change\(s\)", summary), summary

    engine = open_db(db)
    try:
        with engine.connect() as conn:
            logged = dict(conn.exec_driver_sql(
                "SELECT kind, count(*) FROM (SELECT DISTINCT kind, target, asset_id FROM changes "
                "WHERE run_id = ? AND after IS NOT NULL) GROUP BY kind", (ran["run"],)).all())
    finally:
        engine.dispose()
    assert logged == planned

    header = re.search(r"run (\d+): would revert (\d+) change\(s\) \(([^)]*)\); deletes what it created: (.*)", undo)
    assert header, undo
    assert int(header.group(1)) == ran["run"] and int(header.group(2)) == dry["changes"]
    reverted = {k: int(n) for k, n in (part.rsplit(" ", 1) for part in header.group(3).split(", "))}
    assert reverted == changed
    created = {f"{kind.split('_')[0]}(s)": n for kind, n in planned.items() if kind in CREATIONS}
    assert {what: int(n) for n, what in (part.split(" ") for part in header.group(4).split(", "))} == created
    assert set(REVERTS.values()) >= set(planned)


def test_undo_counts_what_the_run_counted_its_deletions_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that created albums and tags, then its undo: the undo's total is the run's, in its preview,
    its result, the run list and the report; the albums and tags it deletes are counted beside, by name."""
    config = tmp_path / "config.yaml"
    config.write_text(demo_config_text(), encoding="utf-8")
    config.chmod(0o600)
    db = tmp_path / "m.db"
    with running_fake_server(generate_library(250, seed=11)) as (url, key):
        for name, value in {"IMMICH_URL": url, "IMMICH_API_KEY": key, "AUTOTAG_DB": str(db),
                            "AUTOTAG_CONFIG": str(config)}.items():
            monkeypatch.setenv(name, value)
        ran = json.loads(_cli(capsys, "run", "--json"))
        preview = json.loads(_cli(capsys, "undo", "--json"))
        applied = json.loads(_cli(capsys, "undo", "--yes", "--json"))
        _cli(capsys, "report", str(tmp_path / "report"))

    made = {k: n for k, n in ran["by_kind"].items() if k in CREATIONS}
    assert made.get("album_create") and made.get("tag_create"), ran["by_kind"]  # both kinds are exercised
    for undo in (preview, applied):
        assert undo["total"] == ran["changes"] and undo["by_kind"] == ran["by_kind"]
    assert applied["push"]["sent"] == ran["changes"]  # the deletions are not "applied changes" either
    assert applied["push"]["deleted"] == made["album_create"] + made["tag_create"]

    stats = json.loads((tmp_path / "report" / "statistics.json").read_text())
    [undone] = [r for r in stats["changes_per_run"] if r["run"] == applied["run_id"]]
    assert undone["changes"] == ran["changes"]
    assert undone["by_kind"]["album_delete"] == made["album_create"]
    assert undone["by_kind"]["tag_delete"] == made["tag_create"]

    summary = (tmp_path / "report" / "summary.txt").read_text()
    lines = {int(m.group(1)): m.group(2) for m in re.finditer(r"run (\d+) .*?: (\d+) change\(s\)", summary)}
    assert lines == {ran["run"]: str(ran["changes"]), applied["run_id"]: str(ran["changes"])}, summary
    # Names, not ids, though the albums are deleted from the mirror by now
    assert re.search(r'deleted album "\d{4}-', summary) and re.search(r'created album "\d{4}-', summary), summary
    more = made["album_create"] + made["tag_create"] - 3
    assert re.search(rf"deleted album .*\({more} more deleted\)", summary), summary
    assert not re.search(r'album "[0-9a-f]{8}-', summary), summary
