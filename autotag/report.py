"""Reports over the mirror: ``status``, ``sql``, and ``report`` (modification log + statistics).

Every number in a report is one SQL query over the mirror and its views, so ``autotag sql`` gives the
same answer. Reports never contain the API key: they are built from the database, which never stores it.
"""

from __future__ import annotations

import csv
import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from autotag.counts import run_counts, total
from autotag.plan import install_rules, rules_current
from autotag.progress_chart import progress_svg
from autotag.runs import RunInfo, recent_runs
from autotag.session import Session
from autotag.sqlguard import guarded
from immich_mirror.db.engine import translate_db_error
from immich_mirror.db.migrate import open_db
from immich_mirror.errors import DatabaseBusy, DatabaseUnwritable, ImmichMirrorError

log = logging.getLogger(__name__)


def _sync_line(run: Mapping[str, Any]) -> str:
    """A recorded sync as the line `autotag sync` printed at its end: every entity, requests, seconds."""
    def counts(entity: str, changed: bool = True) -> str:
        middle = f" ~{run[entity + '_changed']}" if changed else ""
        return f"{entity.replace('_', ' ')} +{run[entity + '_added']}{middle} -{run[entity + '_removed']}"

    seconds = ""
    if run["finished_at"]:
        took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
        seconds = f", {took.total_seconds():.1f} s"
    error = f": {run['error']}" if run["error"] else ""
    return (
        f"#{run['id']} {run['finished_at'] or run['started_at']} ({run['mode']}, {run['status']}{error}): "
        f"{counts('assets')}, {counts('albums')}, {counts('album_links', False)}, {counts('tags')}, "
        f"{counts('tag_links', False)}; {run['requests']} requests{seconds}"
    )


def status_info(session: Session) -> dict[str, Any]:
    """Where things stand, read without writing: ``status`` never creates, migrates or changes the mirror."""
    info: dict[str, Any] = {"database": str(session.db_path), "server": session.cfg.immich.url or "(not set)"}
    if not session.db_path.exists():
        info["last sync"] = "never: run `autotag sync` (it creates the mirror)"
        return info
    engine = open_db(session.db_path, readonly=True)
    try:
        _status_counts(engine, info)
    finally:
        engine.dispose()
    return info


def _status_counts(engine: Engine, info: dict[str, Any]) -> None:
    with engine.connect() as conn:
        last = conn.execute(text("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1")).first()
        info["last sync"] = "never: run `autotag sync`" if last is None else _sync_line(dict(last._mapping))
        version = conn.execute(text("SELECT value FROM sync_state WHERE key = 'server_version'")).scalar()
        if version:
            info["server version"] = version
        for table in ("assets", "albums", "album_assets", "tags", "asset_tags"):
            info[table] = conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
        states = conn.execute(text("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")).all()
        info["outbox"] = ", ".join(f"{s} {n}" for s, n in states) or "empty"


def status_data(session: Session) -> dict[str, Any]:
    """``status --json``: the same facts as ``status_info``, with their types (docs/json.md)."""
    data: dict[str, Any] = {
        "database": str(session.db_path),
        "server": session.cfg.immich.url,
        "exists": session.db_path.exists(),
        "server_version": None,
        "last_sync": None,
        "counts": {},
        "outbox": {},
    }
    if not data["exists"]:
        return data
    engine = open_db(session.db_path, readonly=True)
    try:
        with engine.connect() as conn:
            last = conn.execute(text("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1")).first()
            data["last_sync"] = None if last is None else dict(last._mapping)
            data["server_version"] = conn.execute(
                text("SELECT value FROM sync_state WHERE key = 'server_version'")
            ).scalar()
            for table in ("assets", "albums", "album_assets", "tags", "asset_tags"):
                data["counts"][table] = int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            data["outbox"] = {
                str(s): int(n) for s, n in conn.execute(text("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
            }
    finally:
        engine.dispose()
    return data


def _refresh_rule_views(session: Session) -> None:
    """Make the rule views match the config when they do not yet (a write), so that a read writes nothing.

    The views are installed only when stale (``autotag.installed``): another config or another version
    of the tool. A sync or classify holding the write lock, or a read-only mirror file, does not stop a
    reader: it reads the views as the last classify left them, and is told so when they are stale."""
    ro = open_db(session.db_path, readonly=True)
    try:
        with ro.connect() as conn:
            if rules_current(conn, session.cfg):
                return
            has_views = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'classification'").first()
    finally:
        ro.dispose()
    try:
        install_rules(session.engine, session.cfg)  # opening the mirror writes too (its own views)
    except (DBAPIError, DatabaseBusy, DatabaseUnwritable) as exc:
        error = translate_db_error(session.db_path, exc) if isinstance(exc, DBAPIError) else exc
        if not isinstance(error, DatabaseBusy | DatabaseUnwritable):
            raise
        if has_views is None:
            raise error from None
        log.warning("%s; the rule views are as the last classify left them", error)


def run_sql(session: Session, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run user SQL over a read-only connection; SQLite's own message on error, in one line."""
    # Refused before anything writes: a missing file is not created, a foreign one not migrated into
    # (opening it read-only first does that).
    _refresh_rule_views(session)
    ro = open_db(session.db_path, readonly=True)
    try:
        with ro.connect() as conn:
            # Straight on the driver's connection (autocommit): no BEGIN of ours for the guard to refuse.
            raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
            guard, unguard = guarded(raw)
            try:
                cursor = raw.execute(query)
                if cursor.description is None:
                    return [], []
                cols = [str(d[0]) for d in cursor.description]
                return cols, [tuple(r) for r in cursor.fetchall()]
            except sqlite3.Error as exc:
                if guard.refused:
                    raise ImmichMirrorError(guard.message()) from None
                raise ImmichMirrorError(f"SQL error: {exc}") from None
            finally:
                unguard()
    finally:
        ro.dispose()


def _rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(text(sql)).all()]


def progress_trend(conn: Connection) -> list[dict[str, Any]]:
    """Unclassified and conflicts after each run that classified (as its plan leaves the library), oldest first.

    Every run that classified (``classify``, ``run``, a ``watch`` cycle) keeps its counts in by_status."""
    trend = []
    for run_id, started, summary in _rows(
        conn,
        "SELECT id, started_at, summary FROM runs WHERE json_extract(summary, '$.by_status') IS NOT NULL "
        "ORDER BY id",
    ):
        data = json.loads(summary) if summary else {}
        statuses = data.get("by_status", {})
        trend.append(
            {
                "run": run_id,
                "at": started,
                "unclassified": statuses.get("unclassified", 0),
                "conflicts": statuses.get("conflict", 0),
                "classified": statuses.get("classified", 0),
            }
        )
    return trend


def statistics(conn: Connection) -> dict[str, Any]:
    by_status = dict(_rows(conn, "SELECT status, COUNT(*) FROM classification GROUP BY status"))
    by_rule = dict(_rows(conn, "SELECT rule, COUNT(DISTINCT asset_id) FROM rule_matches GROUP BY rule"))
    by_album = [
        {"album": name, "album_id": aid, "assets": n}
        for aid, name, n in _rows(
            conn,
            "SELECT al.id, al.name, COUNT(DISTINCT rm.asset_id) FROM rule_matches rm "
            "JOIN albums al ON al.id = rm.album_id GROUP BY al.id, al.name ORDER BY 3 DESC, al.name",
        )
    ]
    # One per effect, by kind, as the dry run, `run` and `undo` count them (autotag.counts).
    changes_per_run = []
    for r, c, t in _rows(conn, "SELECT id, command, started_at FROM runs ORDER BY id"):
        by_kind = run_counts(conn, int(r))
        changes_per_run.append(
            {"run": r, "command": c, "started_at": t, "changes": total(by_kind), "by_kind": by_kind}
        )
    trend = progress_trend(conn)
    return {
        "totals": {"assets_in_scope": sum(by_status.values()), **by_status},
        "by_rule": by_rule,
        "by_album": by_album,
        "conflicts": by_status.get("conflict", 0),
        "changes_per_run": changes_per_run,
        "trend": trend,
    }


CHANGE_COLUMNS = ("id", "run_id", "at", "asset_id", "kind", "target", "before", "after", "note")


def write_report(session: Session, directory: Path) -> Sequence[Path]:
    session.engine  # noqa: B018 - creates or migrates the mirror, as every command but sql and status does
    _refresh_rule_views(session)
    directory.mkdir(parents=True, exist_ok=True)
    changes_path = directory / "changes.csv"
    stats_path = directory / "statistics.json"
    summary_path = directory / "summary.txt"
    chart_path = directory / "progress.svg"
    with session.engine.connect() as conn:
        with changes_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CHANGE_COLUMNS)
            writer.writerows(
                conn.execute(text(f"SELECT {', '.join(CHANGE_COLUMNS)} FROM changes ORDER BY id"))
            )
        stats = statistics(conn)
        listed = recent_runs(conn)
    stats_path.write_text(json.dumps(stats, indent=2, sort_keys=True), encoding="utf-8")
    summary_path.write_text(summary_text(stats, listed), encoding="utf-8")
    chart_path.write_text(progress_svg(stats["trend"]), encoding="utf-8")
    return [changes_path, stats_path, summary_path, chart_path]


def run_list(session: Session, limit: int = 10) -> list[RunInfo]:
    """The newest runs that changed something, as ``undo`` lists them."""
    with session.engine.connect() as conn:
        return recent_runs(conn, limit=limit)


def summary_text(stats: dict[str, Any], listed: Sequence[RunInfo] = ()) -> str:
    t = stats["totals"]
    lines = [
        f"assets in scope: {t.get('assets_in_scope', 0)}",
        f"  classified:   {t.get('classified', 0)}",
        f"  unclassified: {t.get('unclassified', 0)}",
        f"  conflicts:    {t.get('conflict', 0)}",
        "by rule:",
        *[f"  {rule}: {n}" for rule, n in sorted(stats["by_rule"].items())],
        "largest classifying albums:",
        *[f"  {a['album']}: {a['assets']}" for a in stats["by_album"][:10]],
        "runs with changes (newest first; `autotag undo --run ID` reverts one):",
        *[f"  {r.line()}" for r in listed],
    ]
    if stats["trend"]:
        first, last = stats["trend"][0], stats["trend"][-1]
        lines.append(
            f"trend: unclassified {first['unclassified']} -> {last['unclassified']}, "
            f"conflicts {first['conflicts']} -> {last['conflicts']} over {len(stats['trend'])} classify runs"
        )
    return "\n".join(lines) + "\n"
