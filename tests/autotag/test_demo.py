"""`make demo` works in every server version: the whole loop on a small generated library."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from autotag import demo
from autotag.config import parse_config
from immich_mirror.fake.__main__ import build, parse_args
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.statefile import save_state


def _section(out: str, title: str) -> str:
    start = out.index(f"# {title}")
    end = out.find("\n$ autotag", start + 1)
    return out[start : end if end != -1 else None]


def test_demo_runs_the_whole_loop(
    version: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("IMMICH_URL", "IMMICH_API_KEY", "AUTOTAG_DB", "AUTOTAG_CONFIG"):
        monkeypatch.setenv(name, "")  # the demo sets them; monkeypatch puts the old values back
    assert demo.main(["--assets", "300", "--server-version", version]) == 0
    out = capsys.readouterr().out
    assert f"fake Immich {version}" in out
    assert "ok   permissions" in out and "FAIL" not in out
    first = re.search(r"changes (\d+)", _section(out, "sync + classify + push"))
    assert first and int(first.group(1)) > 0
    settled = _section(out, "nothing left to do")
    assert "changes 0," in settled
    fixed = _section(out, "the marker of the fixed asset is removed")
    assert re.search(r"changes [1-9]", fixed)

    def unclassified(section: str) -> int:
        found = re.search(r"unclassified (\d+)", section)
        assert found, section
        return int(found.group(1))

    assert unclassified(fixed) == unclassified(settled) - 1  # the asset put into a date album
    assert "would revert" in out
    assert out.rstrip().splitlines()[-2].startswith("$ autotag review")  # it ends with what to try next

    # It says what it turns on, feature by feature, and the dry run what each planned.
    for feature in ("duplicates", "dates", "album_dates", "folder_albums", "tag_albums"):
        assert f"  {feature}: " in out.split("$ autotag", 1)[0], feature
    planned = _section(out, "what would change, and which feature planned it")
    assert "planned by:" in planned and re.search(r"\n  folder_albums +album_add \d+", planned)
    # ... and the people rule, the compilation rule and the smart album, each with what it matches or adds.
    assert "  smart_albums: the album 'Best of places'" in out and "  rule best_of: a compilation" in out
    assert re.search(r"\n  smart_albums +album_add [1-9]", planned)
    assert re.search(r"rules: .*best_of [1-9].*family [1-9]", planned)

    # The tool's own run never adds a conflict.
    def conflicts(section: str) -> int:
        found = re.search(r"conflict +│ (\d+)", section)
        return int(found.group(1)) if found else 0

    before = conflicts(_section(out, "classification counts before the tool changes anything"))
    after = conflicts(_section(out, "classification counts after the runs"))
    assert after <= before


def test_demo_refuses_an_unknown_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--server-version", "3.9.9"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_fake_server_version_flag_wins_over_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    library, _ = build(parse_args(["--assets", "5", "--server-version", "3.2.2"]))
    save_state(library, state)
    assert build(parse_args(["--state", str(state)]))[0].version == library.version
    assert build(parse_args(["--state", str(state), "--server-version", "2.7.5"]))[0].version == "2.7.5"


def test_the_demo_config_has_a_people_rule_that_matches_generated_people() -> None:
    cfg = parse_config(yaml.safe_load(demo.demo_config_text()))
    family = next(r for r in cfg.rules if r.name == "family")
    names = {p.name for p in generate_library(300, seed=7).people.values()}
    assert set(family.people) <= names
