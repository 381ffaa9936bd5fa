from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from immich_mirror.db.migrate import head_revision, open_db
from immich_mirror.errors import CorruptDatabase, DatabaseTooNew, DatabaseUnwritable, MirrorDBError


def test_fresh_db_is_migrated_to_head_with_wal_and_regexp(tmp_path: Path) -> None:
    engine = open_db(tmp_path / "sub" / "mirror.db")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("SELECT '2023-05-12 Beach' REGEXP '^\\d{4}-\\d{2}'")).scalar() == 1
        assert conn.execute(text("SELECT 'Beach' REGEXP '^\\d{4}-'")).scalar() == 0
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert {"assets", "albums", "album_assets", "tags", "asset_tags", "outbox", "duplicate_groups"} <= names


def test_reopen_is_idempotent_and_readonly_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_db(path).dispose()
    open_db(path).dispose()
    ro = open_db(path, readonly=True)
    with ro.connect() as conn, pytest.raises(Exception, match=r"readonly|read-only|attempt to write"):
        conn.execute(text("INSERT INTO sync_state(key, value) VALUES ('x', 'y')"))


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_text("hello, I am a text file\n" * 10)
    with pytest.raises(CorruptDatabase, match="not an SQLite database"):
        open_db(path)


def test_db_from_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_db(path).dispose()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(DatabaseTooNew, match="newer autotag"):
        open_db(path)


def test_outdated_db_is_backed_up_then_migrated(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    con = sqlite3.connect(path)  # a pre-migration mirror: the version table exists, no revision yet
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    con.commit()
    con.close()
    open_db(path).dispose()
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head_revision()
    con.close()


def test_readonly_directory_is_a_clear_error(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(DatabaseUnwritable, match="read-only"):
        open_db(ro / "m.db")


def test_readonly_open_of_missing_db_says_run_sync(tmp_path: Path) -> None:
    with pytest.raises(MirrorDBError, match="autotag sync"):
        open_db(tmp_path / "none.db", readonly=True)
