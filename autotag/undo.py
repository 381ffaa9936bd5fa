"""Undo: the inverse of a run's recorded changes, queued through the outbox like any other plan.

Only what the ``changes`` log recorded is reverted, from its before-values; the inverse rows belong to
a new run (``runs.undo_of``), so an undo is itself logged and can be undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from autotag.features.date_policy import is_iana
from autotag.outbox import enqueue_rows
from immich_mirror.errors import ImmichMirrorError

INVERSE = {
    "tag_add": "tag_remove",
    "tag_remove": "tag_add",
    "album_add": "album_remove",
    "album_remove": "album_add",
}


@dataclass(frozen=True)
class UndoItem:
    kind: str
    target: str
    asset_id: str | None
    payload: Any
    before: Any


def restore_date_payload(before: dict[str, Any]) -> dict[str, Any]:
    """What to send to put a date back: ``before`` holds the exact old ``dateTimeOriginal`` (with the
    offset of its zone) and ``timeZone``. Immich takes only an IANA name as ``timeZone``; its fixed-offset
    labels (``UTC+2``) follow from the offset, and a null zone cannot be written back through the API:
    the same instant at ``+00:00`` (shown as ``UTC+0``, the same wall clock) is the closest (docs/rules.md)."""
    zone = before.get("timeZone")
    return {"dateTimeOriginal": before["dateTimeOriginal"], **({"timeZone": zone} if is_iana(zone) else {})}


def runs_with_changes(conn: Connection) -> list[tuple[int, int | None]]:
    """(run id, the run it undid) of every run that logged an applied change, newest first."""
    rows = conn.execute(
        text(
            "SELECT r.id, r.undo_of FROM runs r WHERE EXISTS "
            "(SELECT 1 FROM changes c WHERE c.run_id = r.id AND c.after IS NOT NULL) ORDER BY r.id DESC"
        )
    ).all()
    return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]


def undone_by(conn: Connection, run_id: int) -> int | None:
    """The undo run that reverted ``run_id`` and is itself in effect (not undone in turn), if any."""
    undos = conn.execute(text("SELECT id FROM runs WHERE undo_of = :r ORDER BY id DESC"), {"r": run_id}).all()
    for (undo_id,) in undos:
        if undone_by(conn, int(undo_id)) is None:
            return int(undo_id)
    return None


def _unfinished(conn: Connection, undo_id: int) -> bool:
    return (
        conn.execute(
            text("SELECT 1 FROM outbox WHERE run_id = :r AND state IN ('pending', 'failed') LIMIT 1"),
            {"r": undo_id},
        ).first()
        is not None
    )


def choose_target(conn: Connection, run_id: int | None) -> int:
    """The run an ``undo`` reverts: ``run_id`` if given, else the newest one neither an undo nor undone.

    Refused: a run that does not exist, one an undo in effect already reverted (a second undo must not
    silently redo it), and any run while an undo is still half applied. An undo is reverted only when
    named (``--run``): plain ``undo`` twice walks back through the history, never forth again.
    """
    if run_id is not None:
        if conn.execute(text("SELECT 1 FROM runs WHERE id = :r"), {"r": run_id}).first() is None:
            raise ImmichMirrorError(f"no run {run_id}: see `autotag report` for run ids")
        _refuse_if_undone(conn, run_id)
        return run_id
    candidates = [rid for rid, undo_of in runs_with_changes(conn) if undo_of is None]
    if not candidates:
        raise ImmichMirrorError("nothing to undo: no run has recorded changes yet")
    for rid in candidates:
        undo_id = undone_by(conn, rid)
        if undo_id is None:
            return rid
        if _unfinished(conn, undo_id):
            _refuse_if_undone(conn, rid)
    raise ImmichMirrorError(
        "nothing to undo: every run with changes was undone already (see `autotag report`)"
    )


def _refuse_if_undone(conn: Connection, run_id: int) -> None:
    undo_id = undone_by(conn, run_id)
    if undo_id is None:
        return
    if _unfinished(conn, undo_id):
        raise ImmichMirrorError(
            f"run {run_id} is being undone by run {undo_id}, which did not finish: "
            "run `autotag push` to finish it"
        )
    raise ImmichMirrorError(
        f"run {run_id} was undone by run {undo_id}: to apply it again, undo that: `autotag undo --run {undo_id}`"
    )


def why_nothing(conn: Connection, run_id: int) -> str:
    """Why ``run_id`` has no change to revert, naming the run(s) that applied what it queued.

    A ``classify`` run only queues: the server is changed by the ``push`` (or ``run``) that sends the
    queue, and its ``changes`` rows carry that run's id, not the classify run's.
    """
    command = conn.execute(text("SELECT command FROM runs WHERE id = :r"), {"r": run_id}).scalar()
    label = f"run {run_id} ({command})"
    appliers = [
        (int(r), str(c))
        for r, c in conn.execute(
            text(
                "SELECT DISTINCT c.run_id, r.command FROM changes AS c JOIN outbox AS o ON o.id = c.outbox_id "
                "JOIN runs AS r ON r.id = c.run_id "
                "WHERE o.run_id = :r AND c.run_id <> :r AND c.after IS NOT NULL ORDER BY c.run_id"
            ),
            {"r": run_id},
        )
    ]
    if appliers:
        named = ", ".join(f"run {r} ({c})" for r, c in appliers)
        again = " ".join(f"`autotag undo --run {r}`" for r, _c in appliers)
        return f"{label} changed nothing on the server: what it queued was applied by {named}; undo that: {again}"
    queued = conn.execute(
        text("SELECT count(*) FROM outbox WHERE run_id = :r AND state IN ('pending', 'failed')"), {"r": run_id}
    ).scalar_one()
    if queued:
        return f"{label} changed nothing on the server: its {queued} queued change(s) are not pushed yet"
    return f"{label} changed nothing on the server: nothing to undo"


def undo_items(conn: Connection, run_id: int) -> list[UndoItem]:
    """The inverse mutations of a run, newest change first, one per (kind, target, asset)."""
    rows = conn.execute(
        text(
            "SELECT kind, target, asset_id, before, after FROM changes "
            "WHERE run_id = :r AND after IS NOT NULL ORDER BY id DESC"
        ),
        {"r": run_id},
    ).all()
    seen: set[tuple[str, str, str | None]] = set()
    items: list[UndoItem] = []
    for kind, target, asset_id, before, after in rows:
        key = (kind, target, asset_id)
        if key in seen:  # re-applied writes log the same effect twice: undo it once
            continue
        seen.add(key)
        if kind in INVERSE:
            items.append(UndoItem(INVERSE[kind], target, asset_id, None, None))
        elif kind == "album_create":  # deleted only if created_albums lists it (the pusher checks)
            items.append(UndoItem("album_delete", target, None, None, {"name": after}))
        elif kind == "tag_create":  # deleted only if created_tags lists it and it is unused (the pusher checks)
            items.append(UndoItem("tag_delete", target, None, None, {"name": after}))
        elif kind == "set_date":
            old = json.loads(before) if before else None
            if isinstance(old, dict) and old.get("dateTimeOriginal"):
                new = json.loads(after) if after else None
                items.append(UndoItem("set_date", target, asset_id, restore_date_payload(old), new))
    return items


def enqueue_undo(conn: Connection, new_run_id: int, undone_run_id: int, items: list[UndoItem]) -> int:
    return enqueue_rows(
        conn,
        new_run_id,
        (
            {
                "kind": it.kind,
                "target": it.target,
                "asset_id": it.asset_id,
                "payload": it.payload,
                "before": it.before,
                "reason": f"undo of run {undone_run_id}",
                "idem_key": f"undo:{new_run_id}:{it.kind}:{it.target}:{it.asset_id}",
            }
            for it in items
        ),
    )
