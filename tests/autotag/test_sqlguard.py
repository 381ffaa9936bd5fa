"""`autotag sql` reads and does nothing else: every refusal is one line naming what was refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotag.cli import main
from immich_mirror.db.migrate import open_db


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("IMMICH_URL", "IMMICH_INSTANCE_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "m.db"
    open_db(path).dispose()
    return path


def sql(capsys: pytest.CaptureFixture[str], db: Path, query: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), "sql", query, "--csv"])
    out, err = capsys.readouterr()
    return code, out, err.strip()


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("ATTACH DATABASE '{tmp}/x.db' AS x", "ATTACH (or VACUUM INTO)"),
        ("VACUUM INTO '{tmp}/x.db'", "ATTACH (or VACUUM INTO)"),
        ("PRAGMA writable_schema=1", "PRAGMA writable_schema = 1"),
        ("PRAGMA journal_mode=DELETE", "PRAGMA journal_mode = DELETE"),
        ("PRAGMA optimize", "PRAGMA optimize"),
        ("SELECT load_extension('x')", "the function load_extension()"),
        ("DELETE FROM assets", "DELETE on assets"),
        ("BEGIN", "BEGIN"),
    ],
)
def test_anything_but_a_read_is_refused_in_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], query: str, refused: str
) -> None:
    before = {p.name for p in db.parent.iterdir()}
    code, _out, err = sql(capsys, db, query.format(tmp=db.parent))
    assert code == 1
    assert err == f"error: sql is read-only: {refused} is not allowed (SELECT, WITH and pragmas that only report are)"
    assert {p.name for p in db.parent.iterdir()} == before  # no x.db


@pytest.mark.parametrize(
    ("query", "first_line"),
    [
        ("SELECT COUNT(*) AS n FROM assets", "n"),
        ("SELECT status, COUNT(*) AS n FROM classification GROUP BY status", "status,n"),
        ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 3) SELECT * FROM r", "x"),
        ("SELECT value FROM json_each('[1, 2]')", "value"),
        ("SELECT name FROM pragma_table_info('assets') LIMIT 1", "name"),
        ("PRAGMA table_info(assets)", "cid,name,type,notnull,dflt_value,pk"),
        ("PRAGMA user_version", "user_version"),
        ("SELECT 'a' REGEXP '^a' AS m", "m"),
    ],
)
def test_reads_still_work(db: Path, capsys: pytest.CaptureFixture[str], query: str, first_line: str) -> None:
    code, out, err = sql(capsys, db, query)
    assert code == 0, err
    assert out.splitlines()[0] == first_line
