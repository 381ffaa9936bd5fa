"""What ``autotag sql`` lets a query do: read, and nothing else.

The connection is already opened read-only (``mode=ro``, ``query_only``), but that stops neither
``ATTACH`` (which creates a file), ``VACUUM INTO`` (which writes one), pragmas that change the
connection (``writable_schema``), nor functions with effects outside the database. An SQLite
authorizer sees every action a statement would take while it is compiled: anything that is not a
read is refused there, before it runs, and the first refusal is kept so the user gets one line
saying what was refused rather than SQLite's bare "not authorized".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

# Pragmas that only report. Those in ``_WITH_ARGUMENT`` take a table or index name (or a row limit).
_READ_PRAGMAS = frozenset(
    {
        "application_id", "auto_vacuum", "cache_size", "collation_list", "compile_options", "data_version",
        "database_list", "encoding", "foreign_key_check", "foreign_key_list", "foreign_keys", "freelist_count",
        "function_list", "index_info", "index_list", "index_xinfo", "integrity_check", "journal_mode",
        "module_list", "page_count", "page_size", "pragma_list", "quick_check", "schema_version",
        "table_info", "table_list", "table_xinfo", "user_version",
    }
)
_WITH_ARGUMENT = frozenset(
    {
        "foreign_key_check", "foreign_key_list", "index_info", "index_list", "index_xinfo", "integrity_check",
        "quick_check", "table_info", "table_list", "table_xinfo",
    }
)
# Functions that reach outside the query: load code, read or write files, change FTS internals.
_FUNCTIONS_WITH_EFFECTS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})

_NAMES = {
    sqlite3.SQLITE_ATTACH: "ATTACH (or VACUUM INTO)",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_TRANSACTION: "a transaction",
    sqlite3.SQLITE_SAVEPOINT: "a savepoint",
}


@dataclass
class ReadOnlyGuard:
    """An authorizer (``sqlite3.Connection.set_authorizer``) that lets reads through and notes refusals."""

    refused: list[str] = field(default_factory=list)

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        what = self._refusal(action, arg1, arg2)
        if what is None:
            return sqlite3.SQLITE_OK
        self.refused.append(what)
        return sqlite3.SQLITE_DENY

    @staticmethod
    def _refusal(action: int, arg1: str | None, arg2: str | None) -> str | None:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
            return None
        if action == sqlite3.SQLITE_FUNCTION:
            return f"the function {arg2}()" if (arg2 or "").lower() in _FUNCTIONS_WITH_EFFECTS else None
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _READ_PRAGMAS and (arg2 is None or name in _WITH_ARGUMENT):
                return None
            return f"PRAGMA {arg1} = {arg2}" if arg2 is not None else f"PRAGMA {arg1}"
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            # SQLite itself declares a table-valued function (json_each, pragma_table_info) this way; the
            # connection is read-only and writable_schema is refused, so no statement can really do it.
            return None
        label = _NAMES.get(action, "changing the database")
        if label in ("INSERT", "UPDATE", "DELETE") and arg1:
            return f"{label} on {arg1}"
        if label == "a transaction" and arg1:
            return arg1
        return label

    def message(self) -> str:
        return (
            f"sql is read-only: {self.refused[0]} is not allowed "
            "(SELECT, WITH and pragmas that only report are)"
        )


def guarded(dbapi_conn: sqlite3.Connection) -> tuple[ReadOnlyGuard, Callable[[], None]]:
    """Install the guard on a connection; returns it and the function that removes it again."""
    guard = ReadOnlyGuard()
    dbapi_conn.set_authorizer(guard)
    return guard, lambda: dbapi_conn.set_authorizer(None)
