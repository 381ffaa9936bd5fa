"""Undo: the inverse of a run's recorded changes, queued through the outbox like any other plan.

Only what the ``changes`` log recorded is reverted, from its before-values; the inverse rows belong to
a new run (``runs.undo_of``), so an undo is itself logged and can be undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from autotag.outbox import enqueue_rows

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


def last_run_with_changes(conn: Connection) -> int | None:
    value = conn.execute(
        text(
            "SELECT run_id FROM changes WHERE run_id IS NOT NULL AND after IS NOT NULL ORDER BY id DESC LIMIT 1"
        )
    ).scalar()
    return int(value) if value is not None else None


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
            items.append(UndoItem("album_delete", target, None, None, None))
        elif kind == "set_date":
            old = json.loads(before) if before else None
            if isinstance(old, dict) and old.get("dateTimeOriginal"):
                new = json.loads(after) if after else None
                items.append(UndoItem("set_date", target, asset_id, old, new))
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
