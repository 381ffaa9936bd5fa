"""The outbox: mutations waiting to be applied, and their life cycle.

    pending --sent by push, server confirmed--> sent
    pending --transient failure--> failed --retried by the next push--> sent | failed | dead
    pending|failed --a newer plan no longer wants it--> cancelled
    pending|failed --the server says the asset is gone, or MAX_ATTEMPTS reached--> dead

Rows are written in the same transaction as the plan they come from (``enqueue_plan`` runs
``INSERT ... SELECT`` straight from the ``plan`` view, so a million-row plan never becomes a million
Python objects). ``idem_key`` names the effect (``tag_add:<value>:<asset>``) and a partial unique index
allows one live row per effect: enqueueing the same plan twice adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from immich_mirror.sync.rows import now_iso

MAX_ATTEMPTS = 5
LIVE = ("pending", "failed")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    run_id: int | None
    kind: str
    target: str
    asset_id: str | None
    payload: dict[str, Any] | None
    before: Any
    reason: str | None
    attempts: int


@dataclass
class EnqueueResult:
    added: int
    cancelled: int
    already_queued: int
    confirmed: int = 0  # live rows whose effect the last sync found on the server (answer lost, or a crash)


def start_run(conn: Connection, command: str, *, undo_of: int | None = None) -> int:
    run_id = conn.execute(
        text(
            "INSERT INTO runs(command, started_at, status, undo_of) VALUES (:c, :t, 'running', :u) RETURNING id"
        ),
        {"c": command, "t": now_iso(), "u": undo_of},
    ).scalar_one()
    return int(run_id)


def finish_run(conn: Connection, run_id: int, status: str, summary: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE runs SET finished_at = :t, status = :s, summary = :j WHERE id = :id"),
        {"t": now_iso(), "s": status, "j": json.dumps(summary, sort_keys=True), "id": run_id},
    )


def enqueue_plan(conn: Connection, run_id: int, source: str = "plan") -> EnqueueResult:
    """Make the live outbox equal to the plan in ``source`` (a view or table with the plan's columns)."""
    now = now_iso()
    confirmed = confirm_applied(conn, run_id, source)
    cancelled = conn.execute(
        text(
            "UPDATE outbox SET state = 'cancelled', updated_at = :now "
            f"WHERE state IN ('pending', 'failed') AND idem_key NOT IN (SELECT idem_key FROM {source})"
        ),
        {"now": now},
    ).rowcount
    already = conn.execute(
        text(
            f"SELECT COUNT(*) FROM {source} WHERE idem_key IN "
            "(SELECT idem_key FROM outbox WHERE state IN ('pending', 'failed'))"
        )
    ).scalar_one()
    added = conn.execute(
        text(
            "INSERT INTO outbox(run_id, kind, target, asset_id, payload, before, reason, idem_key, state, "
            "attempts, created_at, updated_at) "
            f"SELECT :run, kind, target, asset_id, payload, before, reason, idem_key, 'pending', 0, :now, :now "
            f"FROM {source} WHERE idem_key NOT IN (SELECT idem_key FROM outbox WHERE state IN ('pending', 'failed'))"
        ),
        {"run": run_id, "now": now},
    ).rowcount
    return EnqueueResult(added=added, cancelled=cancelled, already_queued=int(already), confirmed=confirmed)


# A live row's effect, as the mirror (just synced from the server) shows it.
_HAS_TAG = (
    "EXISTS (SELECT 1 FROM asset_tags l JOIN tags t ON t.id = l.tag_id "
    "WHERE t.value = o.target AND l.asset_id = o.asset_id)"
)
_IN_ALBUM = "EXISTS (SELECT 1 FROM album_assets m WHERE m.album_id = o.target AND m.asset_id = o.asset_id)"
_ASSET_KNOWN = "EXISTS (SELECT 1 FROM assets a WHERE a.id = o.asset_id)"
# A date counts as set when the mirror's EXIF date is the instant the row sent (compared as instants:
# the mirror keeps UTC text, the payload carries the offset).
_HAS_DATE = (
    "EXISTS (SELECT 1 FROM assets a WHERE a.id = o.asset_id "
    "AND datetime(a.date_time_original) = datetime(json_extract(o.payload, '$.dateTimeOriginal')))"
)
_EFFECT_PRESENT = (
    f"((o.kind = 'tag_add' AND {_HAS_TAG}) OR (o.kind = 'tag_remove' AND {_ASSET_KNOWN} AND NOT {_HAS_TAG}) "
    f"OR (o.kind = 'album_add' AND {_IN_ALBUM}) OR (o.kind = 'album_remove' AND {_ASSET_KNOWN} AND NOT {_IN_ALBUM}) "
    f"OR (o.kind = 'set_date' AND {_HAS_DATE}))"
)


def confirm_applied(conn: Connection, run_id: int, source: str = "plan") -> int:
    """Mark ``sent`` (and log in ``changes``) the live rows the plan dropped because the server has their effect.

    A write can reach the server while its answer does not (connection dropped after the change, a
    truncated body, the process killed mid-request): the row stays live, the next sync reads the
    effect back, and the plan stops asking for it. Cancelling such a row would leave a change on the
    server that ``changes`` does not know, so ``undo`` could not revert it.
    """
    rows = conn.execute(
        text(
            "SELECT o.id, o.asset_id, o.kind, o.target, o.payload, o.before FROM outbox o "
            "WHERE o.state IN ('pending', 'failed') "
            f"AND o.idem_key NOT IN (SELECT idem_key FROM {source}) AND {_EFFECT_PRESENT}"
        )
    ).all()
    if not rows:
        return 0
    mark_sent(conn, [r.id for r in rows])
    record_changes(
        conn,
        run_id,
        [
            {
                "outbox_id": r.id,
                "asset_id": r.asset_id,
                "kind": r.kind,
                "target": r.target,
                # set_date keeps the dates it moved between, so that undo can move it back
                "before": _load(r.before) if r.kind == "set_date" else r.kind.endswith("_remove"),
                "after": _load(r.payload) if r.kind == "set_date" else r.kind.endswith("_add"),
                "note": "applied; the server's answer was lost, the next sync confirmed it",
            }
            for r in rows
        ],
    )
    return len(rows)


def enqueue_rows(conn: Connection, run_id: int, rows: Iterable[dict[str, Any]]) -> int:
    """Enqueue explicit mutations (undo, tests): dicts with kind, target, asset_id, payload, before, reason."""
    now = now_iso()
    n = 0
    for row in rows:
        key = row.get("idem_key") or f"{row['kind']}:{row['target']}:{row.get('asset_id') or ''}"
        res = conn.execute(
            text(
                "INSERT OR IGNORE INTO outbox(run_id, kind, target, asset_id, payload, before, reason, idem_key, "
                "state, attempts, created_at, updated_at) VALUES (:run, :kind, :target, :asset, :payload, :before, "
                ":reason, :key, 'pending', 0, :now, :now)"
            ),
            {
                "run": run_id,
                "kind": row["kind"],
                "target": row["target"],
                "asset": row.get("asset_id"),
                "payload": _json(row.get("payload")),
                "before": _json(row.get("before")),
                "reason": row.get("reason"),
                "key": key,
                "now": now,
            },
        )
        n += res.rowcount
    return n


def _json(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _load(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def live_rows(
    conn: Connection, kinds: Sequence[str] | None = None, run_id: int | None = None
) -> list[OutboxRow]:
    """Pending and failed rows that may still be tried, oldest first (of one run, if given)."""
    kind_clause = ""
    params: dict[str, Any] = {"max": MAX_ATTEMPTS}
    if run_id is not None:
        kind_clause += "AND run_id = :run "
        params["run"] = run_id
    if kinds:
        kind_clause += f"AND kind IN ({', '.join(f':k{i}' for i in range(len(kinds)))})"
        params.update({f"k{i}": k for i, k in enumerate(kinds)})
    result = conn.execute(
        text(
            "SELECT id, run_id, kind, target, asset_id, payload, before, reason, attempts FROM outbox "
            f"WHERE state IN ('pending', 'failed') AND attempts < :max {kind_clause} ORDER BY id"
        ),
        params,
    )
    return [OutboxRow(r[0], r[1], r[2], r[3], r[4], _load(r[5]), _load(r[6]), r[7], r[8]) for r in result]


def _ids_param(ids: Sequence[int]) -> tuple[str, dict[str, Any]]:
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    return marks, {f"i{n}": i for n, i in enumerate(ids)}


def mark_sent(conn: Connection, ids: Sequence[int]) -> None:
    now = now_iso()
    for i in range(0, len(ids), 500):
        marks, params = _ids_param(ids[i : i + 500])
        conn.execute(
            text(
                f"UPDATE outbox SET state = 'sent', sent_at = :now, updated_at = :now, attempts = attempts + 1 "
                f"WHERE id IN ({marks})"
            ),
            {"now": now, **params},
        )


def mark_failed(conn: Connection, ids: Sequence[int], error: str, *, dead: bool = False) -> None:
    """Count an attempt; a row out of attempts (or declared dead) stops being retried."""
    now = now_iso()
    for i in range(0, len(ids), 500):
        marks, params = _ids_param(ids[i : i + 500])
        conn.execute(
            text(
                "UPDATE outbox SET attempts = attempts + 1, last_error = :err, updated_at = :now, "
                "state = CASE WHEN :dead OR attempts + 1 >= :max THEN 'dead' ELSE 'failed' END "
                f"WHERE id IN ({marks})"
            ),
            {"now": now, "err": error, "dead": dead, "max": MAX_ATTEMPTS, **params},
        )


def record_changes(conn: Connection, run_id: int | None, changes: Sequence[dict[str, Any]]) -> None:
    """Log applied changes in one executemany: dicts with outbox_id, asset_id, kind, target, before, after, note."""
    if not changes:
        return
    at = now_iso()
    conn.execute(
        text(
            "INSERT INTO changes(run_id, outbox_id, at, asset_id, kind, target, before, after, note) "
            "VALUES (:run, :outbox_id, :at, :asset_id, :kind, :target, :before, :after, :note)"
        ),
        [
            {
                "run": run_id,
                "at": at,
                "note": None,
                **c,
                "before": _json(c.get("before")),
                "after": _json(c.get("after")),
            }
            for c in changes
        ],
    )


def counts_by_state(conn: Connection) -> dict[str, int]:
    return {r[0]: int(r[1]) for r in conn.execute(text("SELECT state, COUNT(*) FROM outbox GROUP BY state"))}
