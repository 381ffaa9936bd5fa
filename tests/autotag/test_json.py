"""Every command with --json has a section in docs/json.md, and every key it prints is listed there.

The commands run against the fake server with every organiser feature on (the demo config), so every kind
of change is planned and the nested lists (mutations, date changes, checks) are not empty. A key printed but
not documented fails, and so does a documented key no command printed: the doc cannot drift either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from autotag.cli import app, main
from autotag.demo import demo_config_text
from immich_mirror.fake.generate import generate_library
from tests.helpers import isolate_cli, serving

DOC = Path(__file__).resolve().parents[2] / "docs" / "json.md"
ROW = re.compile(r"^\| `([^`]+)` \| (.*) \|$")
Run = Callable[..., Any]


def documented() -> dict[str, dict[str, str]]:
    """``{"push --dry-run": {"calls": "<meaning>"}, ...}``: each section's rows, path -> meaning."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `autotag (.+) --json`", line)
        if heading:
            current = sections.setdefault(heading.group(1), {})
        elif current is not None and (row := ROW.match(line)):
            current[row.group(1)] = row.group(2)
    return sections


def commands_with_json() -> set[str]:
    """Every command of the CLI that takes --json, as ``links check`` for a subcommand."""
    found: set[str] = set()

    # Typer carries its own copy of click: groups are known by their commands, not by click's class.
    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                walk(command, f"{prefix}{name} ")
            elif any("--json" in getattr(p, "opts", ()) for p in command.params):
                found.add(prefix + name)

    walk(typer.main.get_command(app), "")
    return found


def command_of(section: str) -> str:
    """``push --dry-run`` -> ``push``, ``report DIR`` -> ``report``, ``links check`` -> ``links check``."""
    return " ".join(w for w in section.split() if not w.startswith("-") and not w.isupper())


def check(data: Any, section: str, docs: dict[str, dict[str, str]], seen: set[tuple[str, str]]) -> list[str]:
    """The keys of ``data`` that ``docs[section]`` does not list; marks what it does list as ``seen``."""
    missing: list[str] = []

    def walk(value: Any, prefix: str, rows: dict[str, str], where: str, parent: str | None) -> None:
        for obj in value if isinstance(value, list) else [value]:
            if not isinstance(obj, dict):
                continue
            for key, child in obj.items():
                path = f"{prefix}.{key}" if prefix else key
                if path in rows:
                    seen.add((where, path))
                    meaning = rows[path]
                    if "keyed by" in meaning:  # a map: its keys are data
                        continue
                    ref = re.search(r"fields as in `autotag (.+?) --json`", meaning)
                    if ref:
                        walk(child, "", docs[ref.group(1)], ref.group(1), None)
                    else:
                        walk(child, path, rows, where, meaning)
                elif parent is None or f"`{key}`" not in parent:  # nor listed in its parent's row
                    missing.append(f"{where}: {path}")

    walk(data, "", docs[section], section, None)
    return missing


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    isolate_cli(tmp_path, monkeypatch)
    lib = generate_library(400, seed=7)
    album = sorted(lib.albums.values(), key=lambda a: a.name)[0]
    cfg = yaml.safe_load(demo_config_text())  # every organiser feature on
    cfg["exclude"] = [album.id]  # something for `links check` to resolve
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    config.chmod(0o600)
    db = str(tmp_path / "m.db")

    def run(*argv: str) -> Any:
        code = main(["--config", str(config), "--db", db, *argv, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return json.loads(out)

    with serving(lib, monkeypatch):
        yield run


def test_every_key_every_command_prints_is_documented(cli: Run, tmp_path: Path) -> None:
    run = cli
    docs = documented()
    assert {command_of(s) for s in docs} == commands_with_json(), "a command with --json has no section"
    printed: list[tuple[str, Any]] = [("status", run("status"))]  # before any sync: nothing created
    assert printed[0][1]["exists"] is False
    printed += [
        ("sync", run("sync")),
        ("status", run("status")),
        ("doctor", run("doctor")),
        ("links check", run("links", "check")),
        ("classify", run("classify", "--dry-run")),
        ("classify", run("run", "--dry-run")),
        ("classify", run("classify")),
        ("push --dry-run", run("push", "--dry-run")),
        ("push", run("push")),
        ("undo", run("undo")),
        ("undo", run("undo", "--yes")),
        ("run", run("run")),
        ("report DIR", run("report", str(tmp_path / "report"))),
    ]
    assert run("sql", "SELECT 1 AS one, 'x' AS two") == [{"one": 1, "two": "x"}]  # keyed by its columns
    assert set(docs) == {section for section, _ in printed} | {"sql"}, "a documented section was not run"

    seen: set[tuple[str, str]] = set()
    missing = sorted({m for section, data in printed for m in check(data, section, docs, seen)})
    assert not missing, f"printed but not in docs/json.md: {missing}"
    never = [f"{s}: {p}" for s, rows in docs.items() if s != "sql" for p in rows if (s, p) not in seen]
    assert not never, f"in docs/json.md but never printed: {never}"

    # The counts agree: the run's changes are the dry run's, and undo reverts as many.
    by_section = dict(printed)
    dry = printed[5][1]
    assert dry["enqueued"] is None and dry["date_changes"] and dry["mutations"]
    assert by_section["undo"]["total"] == sum(
        n for k, n in by_section["undo"]["by_kind"].items() if k not in ("album_create", "tag_create")
    )
    assert by_section["push"]["sent"] > 0 and by_section["undo"]["push"]["sent"] > 0


def test_a_key_missing_from_the_doc_is_found() -> None:
    docs = {"x": {"a": "one", "b": "an object: `c`", "m": "keyed by name", "p": "(fields as in `autotag y --json`)"},
            "y": {"q": "q"}}
    seen: set[tuple[str, str]] = set()
    data = {"a": 1, "b": {"c": 1, "d": 2}, "m": {"any": {"thing": 1}}, "p": {"q": 1, "r": 2}, "e": [{"f": 1}]}
    assert check(data, "x", docs, seen) == ["x: b.d", "y: r", "x: e"]
    assert seen == {("x", "a"), ("x", "b"), ("x", "m"), ("x", "p"), ("y", "q")}
