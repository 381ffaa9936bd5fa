"""Schema versions: Alembic migrations shipped in the package, applied when the database is opened.

Before migrating an existing database the file is copied aside (``mirror.db.bak-<revision>``), and the
whole upgrade runs in one transaction, so an interrupted migration leaves the old schema intact.
A database written by a newer version of the tool is refused with a message naming what to do,
rather than being "upgraded" into something the old code misreads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from immich_mirror.db.engine import db_errors, make_engine
from immich_mirror.db.schema import MIRROR_VIEWS
from immich_mirror.errors import DatabaseTooNew, MirrorDBError


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "immich_mirror:db/migrations")
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    has_table = conn.execute(
        text("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'")
    ).first()
    if not has_table:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _backup(path: Path, revision: str) -> Path:
    """A consistent copy through SQLite's backup API (safe even with a WAL file beside it)."""
    dest = path.with_name(f"{path.name}.bak-{revision}")
    src = sqlite3.connect(path)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()
    return dest


def ensure_views(conn: Connection, views: dict[str, str]) -> None:
    """Drop and recreate views from code: they are derived, so they are not versioned as migrations."""
    for name, sql in views.items():
        conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE VIEW "{name}" AS {sql}')


def open_db(path: Path, *, readonly: bool = False) -> Engine:
    """Open (creating or migrating as needed) the mirror at ``path``; read-only opens never write."""
    path = Path(path)
    engine = make_engine(path, readonly=readonly)
    head = head_revision()
    known = {rev.revision for rev in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}
    with db_errors(path):
        with engine.connect() as conn:
            current = current_revision(conn)
        if current is not None and current not in known:
            raise DatabaseTooNew(
                f"{path}: written by a newer autotag (schema {current}): upgrade immich-mirror "
                "or use another --db"
            )
        if readonly:
            if current != head:
                raise MirrorDBError(f"{path}: the mirror is not up to date: run `autotag sync` first")
            return engine
        if current != head:
            if current is not None:
                engine.dispose()
                _backup(path, current)
            with engine.begin() as conn:
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        with engine.begin() as conn:
            ensure_views(conn, MIRROR_VIEWS)
    return engine
