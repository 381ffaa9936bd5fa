"""Opening the mirror database: pragmas, SQL functions, read-only mode, and clear errors.

Every connection gets WAL (readers never block the writer, so ``autotag sql`` works during a sync),
foreign keys, a busy timeout, and a ``REGEXP`` function so that users can write ``name REGEXP '^\\d{4}-'``
in their own SQL (no view may need it: other SQLite clients lack it). Transactions start with
``BEGIN IMMEDIATE``: a writer takes the write lock up front instead of failing half-way when another
process got there first.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from immich_mirror.errors import CorruptDatabase, DatabaseBusy, DatabaseUnwritable, MirrorDBError

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def sql_regexp(pattern: str | None, value: object) -> int | None:
    """SQLite calls ``X REGEXP Y`` as ``regexp(Y, X)``; Python ``re.search`` semantics."""
    if pattern is None or value is None:
        return None
    return 1 if _compiled(pattern).search(str(value)) else 0


def date_from_match(match: re.Match[str]) -> str | None:
    """The date of a match's named groups Y, m, d, H, M, S.

    ``YYYY-MM-DDTHH:MM:SS`` when H matched, ``YYYY-MM-DD`` when d matched, ``YYYY-MM`` otherwise;
    None when the numbers are no real date (month 13, 30 February) or Y or m is missing.
    """
    g = match.groupdict()
    try:
        when = datetime(int(g["Y"]), int(g["m"]), int(g.get("d") or 1), int(g.get("H") or 0),
                        int(g.get("M") or 0), int(g.get("S") or 0))
    except (KeyError, TypeError, ValueError):
        return None
    if g.get("H"):
        return when.strftime("%Y-%m-%dT%H:%M:%S")
    return when.strftime("%Y-%m-%d") if g.get("d") else when.strftime("%Y-%m")


def sql_regexp_date(pattern: str | None, value: object) -> str | None:
    """``date_from_match`` of the first match of ``pattern`` in ``value``, or None."""
    if pattern is None or value is None:
        return None
    match = _compiled(pattern).search(str(value))
    return date_from_match(match) if match else None


FUNCTIONS = {
    # For users' own SQL (`autotag sql`, a rule's `sql:`): no view of ours may call these, since other
    # SQLite clients lack them (autotag.derived computes what the views need instead).
    "regexp": sql_regexp,
}


def register_functions(dbapi_conn: sqlite3.Connection) -> None:
    for name, function in FUNCTIONS.items():
        dbapi_conn.create_function(name, 2, function, deterministic=True)


def _check_file(path: Path) -> None:
    if not path.exists():
        return
    if path.is_dir():
        raise CorruptDatabase(f"{path}: is a directory, not a mirror database (use --db to point at a file)")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except PermissionError:
        raise DatabaseUnwritable(f"{path}: cannot read the mirror database (permission denied)") from None
    if head and head != SQLITE_HEADER:
        raise CorruptDatabase(
            f"{path}: not an SQLite database (corrupt or another file): move it aside and run `autotag sync`"
        )


def _prepare_directory(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnwritable(f"{parent}: cannot create the database directory ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise DatabaseUnwritable(
            f"{parent}: the database directory is read-only: choose another place with --db or AUTOTAG_DB"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise DatabaseUnwritable(f"{path}: the mirror database is read-only")


def make_engine(path: Path, *, readonly: bool = False) -> Engine:
    """An engine on ``path`` with the connection setup above; no migration (see ``migrate.open_db``)."""
    _check_file(path)
    if readonly:
        if not path.exists():
            raise MirrorDBError(f"{path}: no mirror database yet: run `autotag sync` first")
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        _prepare_directory(path)
        url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below decides when BEGIN happens.
        dbapi_conn.isolation_level = None
        register_functions(dbapi_conn)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys = ON")
            if readonly:
                cur.execute("PRAGMA query_only = ON")
            else:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def translate_db_error(path: Path, exc: BaseException) -> MirrorDBError:
    """A one-line, actionable error for an sqlite3 failure."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    msg = str(orig)
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return DatabaseBusy(f"{path}: the mirror database is busy: another autotag process is using it")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return CorruptDatabase(f"{path}: the mirror database is corrupt ({msg}): move it aside and run sync")
    if "readonly" in low or "read-only" in low:
        return DatabaseUnwritable(f"{path}: the mirror database is read-only")
    if "disk is full" in low or ("full" in low and "disk" in low):
        return DatabaseUnwritable(f"{path}: the disk is full: free space and run the command again")
    if "unable to open" in low:
        return DatabaseUnwritable(f"{path}: cannot open the mirror database ({msg})")
    return MirrorDBError(f"{path}: database error: {msg}")


@contextmanager
def db_errors(path: Path) -> Iterator[None]:
    """Turn driver errors raised inside the block into ``MirrorDBError``s naming the file."""
    try:
        yield
    except (OperationalError, DBAPIError, sqlite3.DatabaseError) as exc:
        raise translate_db_error(path, exc) from exc


def integrity_ok(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
