"""The demo's people rule, compilation rule and smart album, on the demo library, in each server version:
each changes what the demo's dry run plans, and together they converge and are undone exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from autotag import demo
from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

ASSETS = 300
Row = tuple[str, str, str | None]


def demo_config() -> dict[str, Any]:
    raw = yaml.safe_load(demo.demo_config_text())
    assert isinstance(raw, dict)
    return raw


def without(raw: dict[str, Any], item: str) -> dict[str, Any]:
    """The demo config without the people rule, the compilation rule or the smart album."""
    if item == "smart album":
        return {**raw, "smart_albums": []}
    name = {"people rule": "family", "compilation rule": "best_of"}[item]
    return {**raw, "rules": [r for r in raw["rules"] if r["name"] != name]}


def dry_rows(session: Session, raw: dict[str, Any]) -> tuple[set[Row], dict[str, int]]:
    session.cfg = parse_config(raw)
    result = ops.classify(session, dry_run=True, preview=None)
    return {(r.kind, r.target, r.asset_id) for r in result.rows}, result.summary.rules


def test_the_demo_config_has_the_three() -> None:
    cfg = parse_config(demo_config())
    assert [r.name for r in cfg.rules if r.people] == ["family"]
    assert [r.name for r in cfg.rules if not r.exclusive] == ["best_of"]
    assert [s.album for s in cfg.smart_albums] == [demo.SMART_ALBUM]


def test_each_of_the_three_changes_the_demo_dry_run(tmp_path: Path, version: str) -> None:
    library = generate_library(ASSETS, seed=7)
    s = fake_session(library, tmp_path / "m.db", version, parse_config(demo_config()))
    try:
        ops.sync(s)
        full, rules = dry_rows(s, demo_config())
        assert rules["family"] > 0 and rules["best_of"] > 0
        smart = {r for r in full if r[0] == "album_add" and r[1] == f"name:{demo.SMART_ALBUM}"}
        assert smart
        unknown = "autotag_output_unknown"
        # Without the people rule its photos that nothing else sorts are unclassified.
        no_people, _ = dry_rows(s, without(demo_config(), "people rule"))
        assert {r for r in no_people - full if r[:2] == ("tag_add", unknown)}
        # Without the compilation the smart album's photos are unclassified again.
        no_best, _ = dry_rows(s, without(demo_config(), "compilation rule"))
        assert {r for r in no_best - full if r[:2] == ("tag_add", unknown)}
        # Without the smart album: none of its additions.
        no_smart, _ = dry_rows(s, without(demo_config(), "smart album"))
        assert not smart & no_smart
    finally:
        s.close()


def _server(library: FakeLibrary) -> dict[str, Any]:
    """What the rules can change on the server: album members, tags, tag links (no timestamps)."""
    snap = library.snapshot()
    return {
        "albums": {a: (v["name"], v["asset_ids"]) for a, v in snap["albums"].items()},
        "tags": snap["tags"],
        "asset_tags": snap["asset_tags"],
    }


def test_the_three_converge_and_undo_restores_the_server(tmp_path: Path, version: str) -> None:
    raw = demo_config()
    # The rules and the smart album alone: the other features have tests of their own.
    raw = {"rules": raw["rules"], "smart_albums": raw["smart_albums"]}
    library = generate_library(ASSETS, seed=7)
    before = _server(library)
    s = fake_session(library, tmp_path / "m.db", version, parse_config(raw))
    try:
        first = ops.run(s)
        assert first.by_kind.get("album_add", 0) > 0 and first.by_kind.get("album_create") == 1
        assert first.push.dead == 0 and first.push.failed == 0
        second = ops.run(s)
        assert second.classify.summary.changes == 0 and second.push.sent == 0
        undone = ops.undo(s, run_id=first.run_id, apply=True)
        assert undone.push is not None and undone.push.dead == 0 and undone.push.failed == 0
        assert _server(library) == before
    finally:
        s.close()


@pytest.mark.parametrize("item", ["people rule", "compilation rule", "smart album"])
def test_each_alone_converges(tmp_path: Path, item: str) -> None:
    """Each of the three on its own (the other two taken out) plans nothing on the run after a push."""
    raw = demo_config()
    raw = {"rules": raw["rules"], "smart_albums": raw["smart_albums"]}
    for other in {"people rule", "compilation rule", "smart album"} - {item}:
        raw = without(raw, other)
    library = generate_library(ASSETS, seed=7)
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(raw))
    try:
        assert ops.run(s).by_kind
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()
