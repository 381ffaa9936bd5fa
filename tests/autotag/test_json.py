"""Every command a script reads has --json, and its keys are the ones docs/json.md lists."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotag.cli import main
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"


def documented() -> dict[str, list[str]]:
    """``autotag status --json`` -> its fields, in the doc's order."""
    fields: dict[str, list[str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `autotag (.+) --json`", line)
        if heading:
            current = heading.group(1)
            fields[current] = []
        elif current and (cell := re.match(r"\| `(\w+)` \|", line)):
            fields[current].append(cell.group(1))
    return fields


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    for name in ("IMMICH_INSTANCE_URL", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    lib = FakeLibrary(seed=6)
    ids = [lib.add_asset(f"IMG_2019041{i}_120000.jpg").id for i in range(6)]
    album = lib.create_album("2019-06-01 Beach", asset_ids=ids[:2])
    config = tmp_path / "c.yaml"
    config.write_text(f"exclude:\n  - {album.id}\n", encoding="utf-8")
    db = str(tmp_path / "m.db")

    def run(*argv: str) -> object:
        code = main(["--config", str(config), "--db", db, *argv, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)

    with running_fake_server(lib) as (url, key):
        monkeypatch.setenv("IMMICH_URL", url)
        monkeypatch.setenv("IMMICH_API_KEY", key)
        yield run


def test_every_documented_command_prints_the_documented_keys(cli: object, tmp_path: Path) -> None:
    run = cli
    fields = documented()
    assert set(fields) == {"status", "sync", "push", "undo", "doctor", "links check", "report DIR"}
    got = {
        "status": run("status"),  # before any sync: exists is false, nothing created
        "sync": run("sync"),
        "doctor": run("doctor"),
        "links check": run("links", "check"),
    }
    assert got["status"]["exists"] is False  # type: ignore[index]
    run("classify")
    got["push"] = run("push")
    got["undo"] = run("undo", "--yes")
    got["report DIR"] = run("report", str(tmp_path / "report"))
    for command, data in got.items():
        entry = data[0] if isinstance(data, list) else data
        assert list(entry) == fields[command], command  # type: ignore[arg-type]
    assert got["push"]["sent"] == 4 and got["undo"]["push"]["sent"] >= 4  # type: ignore[index]
    assert run("status")["counts"]["assets"] == 6  # type: ignore[index]
