"""The runs a person recognises: the commands they typed that changed something, with when and what.

A run is one command (``run``, ``push``, ``undo``, a ``watch`` cycle, ``classify``): ``undo`` offers
them by these numbers and ``report`` lists them. What a run changed is counted as ``undo`` counts it:
each effect once (a re-applied write is logged twice), names instead of ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from autotag.undo import undone_by

# Not changes to assets: listed apart, not counted (autotag.counts): what a run created, what an undo deleted.
CREATIONS = ("tag_create", "album_create", "album_delete", "tag_delete")


@dataclass(frozen=True)
class Effect:
    kind: str  # tag_add, tag_remove, album_add, album_remove, set_date; album/tag _create and _delete
    target: str  # a tag's value, an album's name (its id if the mirror no longer has it), "date"
    count: int

    def describe(self) -> str:
        if self.kind == "tag_add":
            return f"{self.target} +{self.count}"
        if self.kind == "tag_remove":
            return f"{self.target} -{self.count}"
        if self.kind == "album_add":
            return f'album "{self.target}" +{self.count}'
        if self.kind == "album_remove":
            return f'album "{self.target}" -{self.count}'
        if self.kind == "set_date":
            return f"dates of {self.count} asset(s)"
        if self.kind == "album_create":
            return f'created album "{self.target}"'
        if self.kind == "tag_create":
            return f"created tag {self.target}"
        if self.kind == "album_delete":
            return f'deleted album "{self.target}"'
        if self.kind == "tag_delete":
            return f"deleted tag {self.target}"
        return f"{self.kind} {self.target} x{self.count}"


@dataclass(frozen=True)
class RunInfo:
    id: int
    command: str
    started_at: str  # ISO, UTC, as stored
    status: str
    undo_of: int | None
    undone_by: int | None  # the undo in effect that reverted this run (``autotag.undo.undone_by``)
    effects: list[Effect] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Changes to assets (what the push reported applied); the tags and albums it created aside."""
        return sum(e.count for e in self.effects if e.kind not in CREATIONS)

    def when(self) -> str:
        """The start time in the local time zone, to the minute: what the person saw on their clock."""
        try:
            return datetime.fromisoformat(self.started_at).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return self.started_at

    def line(self) -> str:
        what = f"undo of run {self.undo_of}" if self.command == "undo" and self.undo_of else self.command
        changed = [e for e in self.effects if e.kind not in CREATIONS]
        effects = ", ".join(e.describe() for e in changed[:4])
        if len(changed) > 4:
            effects += f", ... ({len(changed) - 4} more)"
        for verb, kinds in (("created", ("album_create", "tag_create")), ("deleted", ("album_delete", "tag_delete"))):
            apart = [e.describe() for e in self.effects if e.kind in kinds]
            if apart:
                # A first run with folder albums creates hundreds: name a few, count the rest (one line).
                effects += "; " + ", ".join(apart[:3])
                if len(apart) > 3:
                    effects += f", ... ({len(apart) - 3} more {verb})"
        notes = []
        if self.status not in ("ok", "running"):
            notes.append(self.status)
        if self.undone_by is not None:
            notes.append(f"undone by run {self.undone_by}")
        note = f" ({', '.join(notes)})" if notes else ""
        return f"run {self.id}  {self.when()}  {what}: {self.changes} change(s): {effects}{note}"


def recent_runs(conn: Connection, limit: int | None = None) -> list[RunInfo]:
    """The runs that changed something on the server, newest first (``limit`` of them)."""
    heads = conn.execute(
        text(
            "SELECT r.id, r.command, r.started_at, r.status, r.undo_of FROM runs r "
            "WHERE EXISTS (SELECT 1 FROM changes c WHERE c.run_id = r.id AND c.after IS NOT NULL) "
            "ORDER BY r.id DESC" + (" LIMIT :n" if limit is not None else "")
        ),
        {"n": limit},
    ).all()
    effects = _effects(conn, [int(h.id) for h in heads])
    return [
        RunInfo(
            id=int(h.id),
            command=h.command,
            started_at=h.started_at,
            status=h.status,
            undo_of=h.undo_of,
            undone_by=undone_by(conn, int(h.id)),
            effects=effects.get(int(h.id), []),
        )
        for h in heads
    ]


def _effects(conn: Connection, run_ids: Sequence[int]) -> dict[int, list[Effect]]:
    if not run_ids:
        return {}
    marks = ", ".join(f":r{i}" for i in range(len(run_ids)))
    rows = conn.execute(
        text(
            # The name a creation logged (``after``), a deletion (``before``), else the mirror's, else the
            # name the tool created the album with (it may be deleted since): never an id where a name exists.
            "SELECT c.run_id, c.kind, c.target, coalesce("
            "CASE WHEN c.kind IN ('tag_create', 'album_create') THEN c.after "
            "WHEN c.kind IN ('tag_delete', 'album_delete') AND json_valid(c.before) "
            "THEN json_extract(c.before, '$.name') END, al.name, ca.name, t.value, "
            "c.target) AS name, count(DISTINCT coalesce(c.asset_id, '')) AS n FROM changes c "
            "LEFT JOIN albums al ON al.id = c.target AND c.kind LIKE 'album%' "
            "LEFT JOIN created_albums ca ON ca.album_id = c.target AND c.kind LIKE 'album%' "
            "LEFT JOIN tags t ON t.id = c.target AND c.kind IN ('tag_create', 'tag_delete') "
            f"WHERE c.after IS NOT NULL AND c.run_id IN ({marks}) "
            "GROUP BY c.run_id, c.kind, c.target ORDER BY c.run_id, n DESC, c.kind, name"
        ),
        {f"r{i}": r for i, r in enumerate(run_ids)},
    ).all()
    out: dict[int, list[Effect]] = {}
    for run_id, kind, _target, name, n in rows:
        out.setdefault(int(run_id), []).append(Effect(kind, name, int(n)))
    return out
