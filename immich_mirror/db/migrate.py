"""Schema versions: Alembic migrations shipped in the package, applied when the database is opened.

Before migrating an existing database the file is copied aside (``mirror.db.bak-<revision>``), and the
whole upgrade runs in one transaction, so an interrupted migration leaves the old schema intact.
A database written by a newer version of the tool is refused with a message naming what to do,
rather than being "upgraded" into something the old code misreads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

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


def _views_differ(engine: Engine, views: dict[str, str]) -> bool:
    """Whether any of ``views`` is missing or other than ``ensure_views`` would create it."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'view'").all()
    found = {str(name): str(sql) for name, sql in rows}
    return any(found.get(name) != f'CREATE VIEW "{name}" AS {sql}' for name, sql in views.items())


# Tables every mirror has had since its first schema: a file holding them is a mirror that lost its version.
_MIRROR_TABLES = frozenset({"assets", "albums", "tags", "outbox", "runs", "changes"})


def _refuse_foreign(path: Path) -> None:
    """A file with tables but no schema version is another application's (or a damaged mirror): never
    migrate into it, which would add our tables to someone else's data. Read through a read-only
    connection of its own, so a refused file is not touched at all (not even switched to WAL)."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    try:
        names = [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        conn.close()
    if "alembic_version" in names:
        return
    tables = sorted(n for n in names if not n.startswith("sqlite_"))
    if not tables:
        return
    if set(tables) >= _MIRROR_TABLES:
        raise MirrorDBError(
            f"{path}: holds mirror tables but no schema version (alembic_version): "
            "move it aside and run `autotag sync` to build the mirror afresh"
        )
    shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
    raise MirrorDBError(f"{path} is not an autotag mirror (it holds other tables: {shown}): choose another --db")


def open_db(path: Path, *, readonly: bool = False) -> Engine:
    """Open (creating or migrating as needed) the mirror at ``path``; read-only opens never write."""
    path = Path(path)
    engine = make_engine(path, readonly=readonly)
    with db_errors(path):
        _refuse_foreign(path)
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
        if _views_differ(engine, MIRROR_VIEWS):  # a write at every open would make every reader a writer
            with engine.begin() as conn:
                ensure_views(conn, MIRROR_VIEWS)
    return engine
