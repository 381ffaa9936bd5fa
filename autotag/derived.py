"""What the views need that SQL cannot compute, computed in Python whenever autotag writes the mirror.

Every view reads in any SQLite client (Python's sqlite3 with no functions registered, Datasette,
pandas), so no view calls a function only autotag registers. What needs Python is computed here into
plain tables that the views join:

- a ``Derived`` runs the patterns of the installed config (``params``: rows ``param, pattern, arg``,
  e.g. each rule's album regexes) over one text column of the mirror (``source``: rows ``key, text``,
  e.g. album ids and names), and keeps a row ``(key, param, value)`` where a pattern matched, ``value``
  being what ``derive`` makes of the match (the matched text, a date, an expanded template). The first
  pattern of a param that matches a key wins. ``<table>_scan`` remembers the text each key was derived
  from, so a refresh derives only new and changed rows (cost follows change); other patterns derive
  everything again.
- ``zone_offsets`` (``autotag.zones``): the UTC offset of every zone the mirror's assets use, kept
  while a view reads it (through ``zones.zoned_iso_sql``).

``refresh`` runs wherever autotag writes what these read: when the views are installed (classify, run,
``sql``, report), at the end of a sync, after the pusher created an album, and inside the plan's
rehearsal (``autotag.closure``). So any client reads the same rows as ``autotag sql``, as of autotag's
last write. A new derivation is one more ``Derived`` in ``DERIVED``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection

from autotag import zones
from immich_mirror.db.engine import date_from_match

STATE_TABLE = "derived_state"
_BATCH = 20_000

Derive = Callable[[re.Match[str], str | None], str | None]


def matched_text(match: re.Match[str], _arg: str | None) -> str | None:
    return match.group(0)


def matched_date(match: re.Match[str], _arg: str | None) -> str | None:
    """The date of the named groups Y, m, d, H, M, S (``YYYY-MM[-DD[THH:MM:SS]]``), None if no real date."""
    return date_from_match(match)


def expanded(match: re.Match[str], template: str | None) -> str | None:
    """``Match.expand(template)``: an album name made of the groups of a path."""
    return None if template is None else match.expand(template)


@dataclass(frozen=True)
class Derived:
    table: str  # the rows: key, param, value (and <table>_scan: key, sig)
    reads: str  # the mirror table ``source`` reads: refresh(conn, reads=...) limits a refresh to it
    source: str  # SELECT key, text: constants only, no user value
    params: str  # SELECT param, pattern, arg: from the installed config's tables
    needs: tuple[str, ...]  # tables ``params`` reads: a mirror never installed has none, nothing to do
    derive: Derive


DERIVED: tuple[Derived, ...] = (
    # The rules' album_name_regex over album names (classifying_albums): a row per album and rule.
    Derived(
        table="derived_album_rules",
        reads="albums",
        source="SELECT id AS key, name AS text FROM albums",
        params="SELECT rule, value, NULL FROM rule_defs WHERE kind = 'album_regex' ORDER BY rule, value",
        needs=("rule_defs",),
        derive=matched_text,
    ),
    # The smart albums' album_name_regex over album names (smart_album_source_albums), as the rules' above.
    Derived(
        table="derived_smart_album_rules",
        reads="albums",
        source="SELECT id AS key, name AS text FROM albums",
        params="SELECT rule, value, NULL FROM smart_album_defs WHERE kind = 'album_regex' "
        "AND EXISTS (SELECT 1 FROM feature_settings WHERE feature = 'smart_albums' AND key = 'enabled') "
        "ORDER BY rule, value",
        needs=("smart_album_defs", "feature_settings"),
        derive=matched_text,
    ),
    # album_dates.album_name_regex over album names (album_date_albums): the date each name starts with.
    Derived(
        table="derived_album_dates",
        reads="albums",
        source="SELECT id AS key, name AS text FROM albums",
        params="SELECT 'album_dates', value, NULL FROM feature_settings "
        "WHERE feature = 'album_dates' AND key = 'album_name_regex'",
        needs=("feature_settings",),
        derive=matched_date,
    ),
    # folder_albums.rules over original paths (album_wants): the album name each path asks for.
    Derived(
        table="derived_folder_albums",
        reads="assets",
        source="SELECT id AS key, original_path AS text FROM assets "
        "WHERE library_id IS NOT NULL OR EXISTS (SELECT 1 FROM folder_album_rules WHERE external_only = 0)",
        params="SELECT position, path_regex, template FROM folder_album_rules "
        "WHERE EXISTS (SELECT 1 FROM feature_settings WHERE feature = 'folder_albums' AND key = 'enabled') "
        "ORDER BY position",
        needs=("folder_album_rules", "feature_settings"),
        derive=expanded,
    ),
)

# The zones zone_offsets must know (while date repair is on): the assets' zones and its default zone.
ZONES_SQL = (
    "SELECT DISTINCT time_zone FROM assets WHERE time_zone IS NOT NULL "
    "AND EXISTS (SELECT 1 FROM feature_settings WHERE feature = 'dates' AND key = 'enabled') "
    "UNION SELECT value FROM feature_settings WHERE feature = 'dates' AND key = 'default_time_zone'"
)


def ensure_tables(conn: Connection) -> None:
    """The tables the views join, so that views can be created before anything was derived."""
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (name TEXT PRIMARY KEY, params TEXT NOT NULL)")
    for d in DERIVED:
        if not (_exists(conn, d.table) and _exists(conn, f"{d.table}_scan")):  # first time, or deleted by hand
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {d.table}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {d.table}_scan")
            conn.exec_driver_sql(f"DELETE FROM {STATE_TABLE} WHERE name = ?", (d.table,))
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {d.table} (key TEXT NOT NULL, param TEXT NOT NULL, value TEXT, "
            "PRIMARY KEY (key, param))"
        )
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {d.table}_scan (key TEXT PRIMARY KEY, sig TEXT)")
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {zones.TABLE} ({zones.COLUMNS})")


def _exists(conn: Connection, table: str) -> bool:
    found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return found.first() is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # checked when the config is loaded; a hand-edited table matches nothing
        return None


def _derive_rows(
    d: Derived, params: list[tuple[str, str, str | None]], rows: Iterable[tuple[str, str | None]]
) -> list[tuple[str, str, str]]:
    compiled = [(str(param), _compiled(str(pattern)), arg) for param, pattern, arg in params]
    out: list[tuple[str, str, str]] = []
    for key, text in rows:
        if text is None:
            continue
        done: set[str] = set()
        for param, pattern, arg in compiled:
            if pattern is None or param in done:
                continue
            match = pattern.search(text)
            if match is None:
                continue
            try:
                value = d.derive(match, arg)
            except (IndexError, re.error):  # a template naming a group the regex lacks
                value = None
            if value is not None:
                out.append((key, param, value))
                done.add(param)
    return out


def _refresh_one(conn: Connection, d: Derived) -> None:
    if not all(_exists(conn, t) for t in d.needs):
        return
    params = [(str(p), str(pat), None if a is None else str(a)) for p, pat, a in conn.exec_driver_sql(d.params)]
    wanted = json.dumps(params)
    stored = conn.exec_driver_sql(f"SELECT params FROM {STATE_TABLE} WHERE name = ?", (d.table,)).scalar()
    if stored != wanted:  # other patterns (or none): everything is derived again
        conn.exec_driver_sql(f"DELETE FROM {d.table}")
        conn.exec_driver_sql(f"DELETE FROM {d.table}_scan")
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO {STATE_TABLE} (name, params) VALUES (?, ?)", (d.table, wanted)
        )
    if not params:
        return
    # Forget keys that are gone, left the source or whose text changed (one primary-key probe each).
    gone = conn.exec_driver_sql(
        f"DELETE FROM {d.table}_scan WHERE NOT EXISTS (SELECT 1 FROM ({d.source}) AS s "
        f"WHERE s.key = {d.table}_scan.key AND s.text IS {d.table}_scan.sig) RETURNING key"
    ).all()
    if gone:
        conn.exec_driver_sql(f"DELETE FROM {d.table} WHERE key = ?", [(k,) for (k,) in gone])
    # The new keys are copied aside first: the tables written below are read by the query finding them.
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.derived_new")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE derived_new AS SELECT s.key AS key, s.text AS text FROM ({d.source}) AS s "
        f"WHERE s.key NOT IN (SELECT key FROM {d.table}_scan)"
    )
    try:
        fresh = conn.exec_driver_sql("SELECT key, text FROM temp.derived_new")
        while batch := [(str(k), None if t is None else str(t)) for k, t in fresh.fetchmany(_BATCH)]:
            derived = _derive_rows(d, params, batch)
            if derived:
                conn.exec_driver_sql(f"INSERT OR REPLACE INTO {d.table} (key, param, value) VALUES (?, ?, ?)", derived)
            conn.exec_driver_sql(f"INSERT OR REPLACE INTO {d.table}_scan (key, sig) VALUES (?, ?)", batch)
    finally:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.derived_new")


def refresh(
    conn: Connection, *, reads: Iterable[str] = ("albums", "assets"), views: Iterable[str] | None = None
) -> None:
    """Bring every derived table up to date with the mirror and the installed config (in ``conn``'s
    transaction); ``reads`` limits it to derivations over those mirror tables. ``views``: the SQL of the
    views about to be installed (default: those installed), so that what no view reads is not computed."""
    ensure_tables(conn)
    which = set(reads)
    for d in DERIVED:
        if d.reads in which:
            _refresh_one(conn, d)
    if views is None:
        views = (str(sql) for (sql,) in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'view'"))
    wants_zones = any(zones.TABLE in sql for sql in views)
    if "assets" in which and wants_zones and _exists(conn, "feature_settings"):
        zones.refresh(conn, (z for (z,) in conn.exec_driver_sql(ZONES_SQL)))
