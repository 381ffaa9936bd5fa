"""Desired state minus current state: the ``plan`` view, its installation, and reading it.

``plan`` is the union of every feature's plan view (markers now; duplicates and dates later), each
adapted to the outbox's columns ``kind, target, asset_id, payload, before, reason, idem_key``. A feature
joins the union by passing a ``PlanSource`` to ``install_rules``; nothing here writes to the outbox
(the outbox module enqueues with ``INSERT INTO outbox ... SELECT ... FROM plan``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from autotag import derived
from autotag.config import AutotagConfig
from autotag.excluded import excluded_targets_sql, filtered
from autotag.rules import check_rules, check_sql_predicates, ensure_rule_tables, rule_views, write_rule_tables
from immich_mirror.db.migrate import ensure_views

PLAN_COLUMNS = ("kind", "target", "asset_id", "payload", "before", "reason", "idem_key")


@dataclass(frozen=True)
class PlanSource:
    """One feature's contribution to ``plan``: the views it needs, and which of them holds its mutations.

    ``columns`` maps plan columns the view lacks to SQL expressions (``payload``/``before`` default to
    NULL), so a feature view only carries the columns it has something to say in. ``prepare`` runs
    in the installing transaction before the views are created (to write the feature's own tables).
    """

    view: str
    views: Mapping[str, str] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    prepare: Callable[[Connection], None] | None = None

    def select(self) -> str:
        exprs = [self.columns.get(c, "NULL" if c in ("payload", "before") else c) for c in PLAN_COLUMNS]
        return (
            "SELECT "
            + ", ".join(f"{e} AS {c}" for e, c in zip(exprs, PLAN_COLUMNS, strict=True))
            + (f" FROM {self.view}")
        )


MARKER_PLAN = PlanSource(view="marker_plan")


def plan_view_sql(sources: Sequence[PlanSource]) -> str:
    return "\nUNION ALL\n".join(s.select() for s in sources)


# What the rules and features propose; ``plan`` is that minus what a person rejected in ``autotag review``
# (``review_decisions``), so a rejected change is held out of the closure, the outbox and every count.
PROPOSED_VIEW = "plan_proposed"
REJECTED_KEYS = "SELECT idem_key FROM review_decisions WHERE decision = 'rejected'"
# A change to an album the pusher creates by name (``name:<album>``) is proposed with the album's id once
# it exists: a rejection made before still holds (coalesce: a ``name:`` target has no album row yet).
IS_REJECTED = (
    f"(p.idem_key IN ({REJECTED_KEYS}) OR coalesce(p.kind = 'album_add' AND 'album_add:name:' || "
    f"(SELECT a.name FROM albums AS a WHERE a.id = p.target) || ':' || p.asset_id IN ({REJECTED_KEYS}), 0))"
)
PLAN_VIEW = f"SELECT p.* FROM {PROPOSED_VIEW} AS p WHERE NOT {IS_REJECTED}"


def install_rules(engine: Engine, cfg: AutotagConfig, *, extra: Sequence[PlanSource] | None = None) -> None:
    """Write the rule tables and (re)create every rule and plan view, in one transaction.

    ``extra`` defaults to the organiser features of ``cfg`` (``autotag.features``), so every caller
    installs the same ``plan``. Raises ``RuleError`` for a rule that does not compile (nothing is
    changed then).
    """
    check_rules(cfg)
    if extra is None:
        from autotag.features import feature_sources  # the features build on this module

        extra = feature_sources(cfg)
    sources = [MARKER_PLAN, *extra]
    with engine.begin() as conn:
        ensure_rule_tables(conn)
        check_sql_predicates(conn, cfg)
        write_rule_tables(conn, cfg)
        # Views of an older config may name rule_sql_<n> views that no longer exist: drop them all.
        stale = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'rule\\_sql\\_%' ESCAPE '\\'"
        ).scalars()
        for name in list(stale):
            conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
        for source in sources:
            if source.prepare is not None:
                source.prepare(conn)
        views = rule_views(cfg)
        for source in sources:
            views.update(source.views)
        # Whatever a source asks for, nothing the user excluded is ever a target (autotag/excluded.py).
        views[PROPOSED_VIEW] = filtered(plan_view_sql(sources))
        views["plan"] = PLAN_VIEW
        views["excluded_targets"] = excluded_targets_sql(cfg)
        # What the views need that SQL cannot compute (regex matches, ...), for the config just written.
        derived.refresh(conn, views=views.values())
        # Dropped in reverse first: SQLite checks a view's dependencies when it is recreated.
        for name in reversed(list(views)):
            conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
        ensure_views(conn, views)


@dataclass(frozen=True)
class PlanRow:
    kind: str
    target: str
    asset_id: str | None
    payload: str | None
    before: str | None
    reason: str | None
    idem_key: str


@dataclass(frozen=True)
class PlanSummary:
    statuses: dict[str, int]  # classification status -> in-scope assets
    rules: dict[str, int]  # rule name -> in-scope assets it matches (every rule, in config order)
    kinds: dict[str, int]  # plan kind -> rows

    @property
    def assets(self) -> int:
        return sum(self.statuses.values())

    @property
    def changes(self) -> int:
        return sum(self.kinds.values())


def plan_summary(conn: Connection, plan_source: str = "plan") -> PlanSummary:
    """Counts per status, rule and plan kind; ``plan_source`` may name a materialized copy of the plan."""
    statuses = {s: 0 for s in ("classified", "unclassified", "conflict")}
    for status, n in conn.execute(text("SELECT status, count(*) FROM classification GROUP BY status")):
        statuses[str(status)] = int(n)
    rules_sql = (
        "SELECT r.rule, coalesce(m.n, 0) FROM rule_names AS r LEFT JOIN "
        "(SELECT rule, count(DISTINCT asset_id) AS n FROM rule_matches GROUP BY rule) AS m "
        "ON m.rule = r.rule ORDER BY r.position"
    )
    rules = {str(rule): int(n) for rule, n in conn.execute(text(rules_sql))}
    kinds_sql = f"SELECT kind, count(*) FROM {plan_source} GROUP BY kind ORDER BY kind"
    kinds = {str(kind): int(n) for kind, n in conn.execute(text(kinds_sql))}
    return PlanSummary(statuses=statuses, rules=rules, kinds=kinds)


def held_back(conn: Connection) -> int:
    """How many proposed changes the plan holds back because a person rejected them in ``autotag review``."""
    if conn.execute(text(f"{REJECTED_KEYS} LIMIT 1")).first() is None:
        return 0  # the everyday case: no decision, and no second evaluation of the proposals
    sql = f"SELECT count(*) FROM {PROPOSED_VIEW} AS p WHERE {IS_REJECTED}"
    return int(conn.execute(text(sql)).scalar_one())


def plan_fingerprint(conn: Connection, source: str = "plan") -> str:
    """A digest of the plan's changes: what a person reviewed is what gets applied, or nothing is."""
    digest = hashlib.sha256()
    for (key,) in conn.execute(text(f"SELECT idem_key FROM {source} ORDER BY idem_key")):
        digest.update(str(key).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def plan_rows(conn: Connection, limit: int | None = None, *, source: str = "plan") -> Iterator[PlanRow]:
    """The plan, ordered by kind, target and asset so that a dry run reads the same twice."""
    sql = f"SELECT {', '.join(PLAN_COLUMNS)} FROM {source} ORDER BY kind, target, asset_id"
    result = (
        conn.execute(text(sql + " LIMIT :limit"), {"limit": limit})
        if limit is not None
        else conn.execute(text(sql))
    )
    for row in result:
        yield PlanRow(*row)
