"""A person's decisions on planned changes (``autotag review``): the ``review_decisions`` table.

A change is named by its ``idem_key``, as in the plan and the outbox. ``rejected`` holds it out of every
later plan (the ``plan`` view subtracts it, see ``autotag.plan``; the review marker's rows, made after
it, are held out by ``autotag.proposals``) until the decision is lifted; ``approved`` only records that
a person looked and agreed; ``chosen`` names the proposal a person picked among those that put an
asset under review (``autotag.proposals`` then applies it instead of the review marker). A change
that is proposed again with other values (another date, another album) has another key, so it is
judged afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from immich_mirror.sync.rows import now_iso

DECISIONS = ("approved", "rejected", "chosen")


@dataclass(frozen=True)
class Decision:
    idem_key: str
    decision: str
    kind: str
    target: str
    asset_id: str | None
    label: str | None  # the change as the page showed it (names, not ids)
    reason: str | None
    decided_at: str = ""


def decide(conn: Connection, changes: Iterable[Decision]) -> int:
    """Record (or replace) decisions; returns how many rows were written."""
    now = now_iso()
    rows = [
        {
            "k": c.idem_key,
            "d": c.decision,
            "kind": c.kind,
            "t": c.target,
            "a": c.asset_id,
            "l": c.label,
            "r": c.reason,
            "at": now,
        }
        for c in changes
    ]
    for c in rows:
        if c["d"] not in DECISIONS:
            raise ValueError(f"unknown decision {c['d']!r}")
    if not rows:
        return 0
    conn.execute(
        text(
            "INSERT OR REPLACE INTO review_decisions "
            "(idem_key, decision, kind, target, asset_id, label, reason, decided_at) "
            "VALUES (:k, :d, :kind, :t, :a, :l, :r, :at)"
        ),
        rows,
    )
    return len(rows)


def lift(conn: Connection, keys: Sequence[str]) -> int:
    """Forget decisions (a lifted rejection lets the change back into the next plan)."""
    n = 0
    for i in range(0, len(keys), 500):
        chunk = list(keys[i : i + 500])
        marks = ", ".join(f":k{j}" for j in range(len(chunk)))
        n += conn.execute(
            text(f"DELETE FROM review_decisions WHERE idem_key IN ({marks})"),
            {f"k{j}": k for j, k in enumerate(chunk)},
        ).rowcount
    return n


def approved_keys(conn: Connection) -> set[str]:
    """Every approved change's key (few: a person's clicks), read at once."""
    return {str(k) for (k,) in conn.execute(text("SELECT idem_key FROM review_decisions WHERE decision = 'approved'"))}


def rejected(
    conn: Connection, *, limit: int = 100, offset: int = 0, decision: str = "rejected"
) -> tuple[int, list[Decision]]:
    """The rejections (or the ``decision`` given: ``chosen``), newest first, and how many there are."""
    total = int(
        conn.execute(text("SELECT count(*) FROM review_decisions WHERE decision = :d"), {"d": decision}).scalar_one()
    )
    rows = conn.execute(
        text(
            "SELECT idem_key, decision, kind, target, asset_id, label, reason, decided_at FROM review_decisions "
            "WHERE decision = :d ORDER BY decided_at DESC, idem_key LIMIT :limit OFFSET :offset"
        ),
        {"limit": limit, "offset": offset, "d": decision},
    )
    return total, [Decision(*r) for r in rows]
