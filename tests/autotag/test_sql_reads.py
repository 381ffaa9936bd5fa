"""`autotag sql` reads: it installs the rule views only when they are stale (autotag.installed).

A read of a mirror whose views are current writes nothing (the file and its WAL are byte for byte
what they were), so it also works on a read-only mirror file; a changed config is installed once,
then reads are writes-free again. The read-only guard stays on either way.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from autotag import session as ops
from autotag.cli import main
from autotag.config import parse_config
from immich_mirror.db import engine as db_engine
from immich_mirror.fake.generate import generate_library
from tests.helpers import fake_session

CFG: dict[str, Any] = {"rules": [{"name": "event_album", "album_name_regex": r"^\d{4}-\d{2}-\d{2}"}]}


def files_digest(db: Path) -> dict[str, str]:
    """The mirror DB and its WAL by content (an empty WAL, which a read-only open may leave, is none)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(db.parent.iterdir())
        if p.name.startswith(db.name) and not p.name.endswith(("-shm", ".lock")) and p.stat().st_size
    }


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    for name in ("IMMICH_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    db, cfg_path = tmp_path / "mirror.db", tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(CFG), encoding="utf-8")
    cfg_path.chmod(0o600)
    session = fake_session(generate_library(60, seed=3), db, cfg=parse_config(CFG))
    ops.sync(session)
    ops.classify(session, dry_run=True)  # installs the views of CFG
    session.close()
    return db, cfg_path


def sql(db: Path, cfg: Path, query: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main(["--db", str(db), "--config", str(cfg), "sql", query, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_a_read_of_current_views_writes_nothing(mirror: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db, cfg = mirror
    before = files_digest(db)
    code, rows, err = sql(db, cfg, "SELECT status, count(*) AS n FROM classification GROUP BY status", capsys)
    assert code == 0 and err == "" and rows
    code, rows, _ = sql(db, cfg, "SELECT count(*) AS n FROM plan", capsys)
    assert code == 0 and rows[0]["n"] > 0
    assert files_digest(db) == before


def test_a_changed_config_is_installed_once(
    mirror: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db, cfg = mirror
    cfg.write_text(yaml.safe_dump({"rules": [{"name": "everything", "sql": "1"}]}), encoding="utf-8")
    code, rows, _ = sql(db, cfg, "SELECT rule FROM rule_names", capsys)
    assert code == 0 and rows == [{"rule": "everything"}]  # the new rules, installed by this read
    code, rows, _ = sql(db, cfg, "SELECT status, count(*) AS n FROM classification GROUP BY status", capsys)
    assert code == 0 and [r["status"] for r in rows] == ["classified"]
    after_install = files_digest(db)
    code, _, _ = sql(db, cfg, "SELECT count(*) FROM unclassified", capsys)
    assert code == 0 and files_digest(db) == after_install  # and the next read writes nothing again


def test_read_only_mirror_file_with_current_views(
    mirror: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, cfg = mirror
    real = os.access

    def access(path: Any, mode: int, *a: Any, **kw: Any) -> bool:
        if Path(path) == db and mode & os.W_OK:
            return False
        return real(path, mode, *a, **kw)

    # Root may write anywhere, so the read-only file is simulated where the tool asks about it.
    monkeypatch.setattr(db_engine.os, "access", access)
    before = files_digest(db)
    code, rows, err = sql(db, cfg, "SELECT count(*) AS n FROM classification", capsys)
    assert code == 0 and rows[0]["n"] > 0 and err == ""  # no "read-only ... as the last classify left them"
    assert files_digest(db) == before
    # Stale views on a read-only file: read as they are, with one warning line saying so.
    cfg.write_text(yaml.safe_dump({"rules": [{"name": "everything", "sql": "1"}]}), encoding="utf-8")
    code, rows, err = sql(db, cfg, "SELECT rule FROM rule_names", capsys)
    assert code == 0 and rows == [{"rule": "event_album"}]
    assert "read-only; the rule views are as the last classify left them" in err


def test_the_guard_stays_on(mirror: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db, cfg = mirror
    before = files_digest(db)
    for query in ("DELETE FROM assets", "DROP VIEW plan", "INSERT INTO rules_installed VALUES ('a', 'b')"):
        code, _, err = sql(db, cfg, query, capsys)
        assert code == 1 and "sql is read-only" in err, query
    assert files_digest(db) == before
