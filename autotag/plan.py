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

from autotag import derived, installed
from autotag.config import AutotagConfig
from autotag.counts import NAME_PREFIX, ordered, plan_counts, total
from autotag.excluded import excluded_targets_sql, filtered, unfiltered
from autotag.rules import check_rules, check_sql_predicates, ensure_rule_tables, rule_views, write_rule_tables
from immich_mirror.db.migrate import ensure_views

PLAN_COLUMNS = ("kind", "target", "asset_id", "payload", "before", "reason", "idem_key")
# Besides the outbox's columns, ``plan`` says who asked for each row: ``rules`` (the markers), ``review``
# (autotag.proposals) or the comma-separated, sorted names of the features that proposed it. The outbox
# does not keep it; dry runs count by it.
SOURCE_COLUMN = "features"


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
    features: str = "NULL"  # the SQL expression of the plan's ``features`` column

    def select(self) -> str:
        exprs = [self.columns.get(c, "NULL" if c in ("payload", "before") else c) for c in PLAN_COLUMNS]
        return (
            "SELECT "
            + ", ".join(f"{e} AS {c}" for e, c in zip(exprs, PLAN_COLUMNS, strict=True))
            + f", {self.features} AS {SOURCE_COLUMN}"
            + (f" FROM {self.view}")
        )


MARKER_PLAN = PlanSource(view="marker_plan", features="'rules'")


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


def _sources(cfg: AutotagConfig, extra: Sequence[PlanSource] | None) -> list[PlanSource]:
    if extra is None:
        from autotag.features import feature_sources  # the features build on this module

        extra = feature_sources(cfg)
    return [MARKER_PLAN, *extra]


def _views(cfg: AutotagConfig, sources: Sequence[PlanSource]) -> dict[str, str]:
    """Every rule and plan view of ``cfg``, in creation order (pure: nothing is read or written)."""
    views = rule_views(cfg)
    for source in sources:
        views.update(source.views)
    # Whatever a source asks for, nothing the user excluded is ever a target (autotag/excluded.py).
    views[PROPOSED_VIEW] = filtered(plan_view_sql(sources))
    views["plan"] = PLAN_VIEW
    views["excluded_targets"] = excluded_targets_sql(cfg)
    return views


def install_fingerprint(cfg: AutotagConfig, *, extra: Sequence[PlanSource] | None = None) -> str:
    """What ``install_rules(cfg)`` would record (autotag.installed), computed without writing anything."""
    check_rules(cfg)
    return installed.fingerprint(cfg, _views(cfg, _sources(cfg, extra)))


def rules_current(conn: Connection, cfg: AutotagConfig) -> bool:
    """Whether the installed rule views are those ``install_rules(cfg)`` would install now."""
    return installed.installed(conn) == install_fingerprint(cfg)


def unfiltered_views(conn: Connection, views: Mapping[str, str]) -> dict[str, str]:
    """``plan`` and ``plan_proposed`` (their SELECTs in ``views``) without the filters that cannot
    drop a row on ``conn`` right now: no rejection recorded, nothing excluded. Neither changes while a
    classify runs, and a probe per plan row is what a classify then saves (autotag.shadow)."""
    out: dict[str, str] = {}
    if conn.execute(text(f"{REJECTED_KEYS} LIMIT 1")).first() is None and views.get("plan") == PLAN_VIEW:
        out["plan"] = f"SELECT * FROM {PROPOSED_VIEW}"
    proposed = views.get(PROPOSED_VIEW)
    bare = unfiltered(conn, proposed) if proposed is not None else None
    if bare is not None:
        out[PROPOSED_VIEW] = bare
    return out


def install_rules(engine: Engine, cfg: AutotagConfig, *, extra: Sequence[PlanSource] | None = None) -> None:
    """Write the rule tables and (re)create every rule and plan view, in one transaction.

    ``extra`` defaults to the organiser features of ``cfg`` (``autotag.features``), so every caller
    installs the same ``plan``. Raises ``RuleError`` for a rule that does not compile (nothing is
    changed then). Records what it installed (``autotag.installed``), so readers install only when stale.
    """
    check_rules(cfg)
    sources = _sources(cfg, extra)
    views = _views(cfg, sources)
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
        # What the views need that SQL cannot compute (regex matches, ...), for the config just written.
        derived.refresh(conn, views=views.values())
        # Dropped in reverse first: SQLite checks a view's dependencies when it is recreated.
        for name in reversed(list(views)):
            conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
        ensure_views(conn, views)
        installed.record(conn, installed.fingerprint(cfg, views))


@dataclass(frozen=True)
class PlanRow:
    kind: str
    target: str
    asset_id: str | None
    payload: str | None
    before: str | None
    reason: str | None
    idem_key: str
    features: str | None = None  # who asked: rules, review, or the features (comma-separated)
    target_name: str | None = None  # what a person reads for ``target``: an album's name, a tag value


@dataclass(frozen=True)
class PlanSummary:
    # Statuses and rules as the plan leaves them (the closed plan's albums and tags applied): what the
    # mirror will say after a push, so the header and the markers the plan lists agree.
    statuses: dict[str, int]  # classification status -> in-scope assets
    rules: dict[str, int]  # rule name -> in-scope assets it matches (every rule, in config order)
    kinds: dict[str, int]  # change kind -> changes (autotag.counts: album_create counted too)
    by_feature: dict[str, dict[str, int]] = field(default_factory=dict)  # who asked -> kind -> rows

    @property
    def assets(self) -> int:
        return sum(self.statuses.values())

    @property
    def changes(self) -> int:
        """Changes to assets: the plan's rows (the outbox's); the albums and tags the pusher creates on
        the way are in ``kinds`` beside them (autotag.counts)."""
        return total(self.kinds)

    @property
    def rows(self) -> int:
        return self.changes


@dataclass(frozen=True)
class StateCounts:
    statuses: dict[str, int]
    rules: dict[str, int]


def state_counts(conn: Connection) -> StateCounts:
    """Assets per classification status and per rule, in the mirror as it is on ``conn`` right now.

    One pass over ``classification``: an asset's ``matched_rules`` are exactly the rules ``rule_matches``
    has for it (rule names hold no comma), so the rules are counted from the few distinct lists."""
    statuses = {s: 0 for s in ("classified", "unclassified", "conflict")}
    rules = {str(r): 0 for (r,) in conn.execute(text("SELECT rule FROM rule_names ORDER BY position"))}
    sql = "SELECT status, matched_rules, count(*) FROM classification GROUP BY status, matched_rules"
    for status, matched, n in conn.execute(text(sql)):
        statuses[str(status)] = statuses.get(str(status), 0) + int(n)
        for rule in str(matched or "").split(","):
            if rule in rules:
                rules[rule] += int(n)
    return StateCounts(statuses, rules)


def plan_summary(conn: Connection, plan_source: str = "plan", *, state: StateCounts | None = None) -> PlanSummary:
    """Counts per status, rule and change kind; ``plan_source`` may name a materialized copy of the plan,
    ``state`` the statuses and rules measured where the plan's changes were rehearsed."""
    state = state or state_counts(conn)
    by_feature: dict[str, dict[str, int]] = {}
    by_kind: dict[str, int] = {}
    sql = f"SELECT {SOURCE_COLUMN}, kind, count(*) FROM {plan_source} GROUP BY 1, 2"
    for features, kind, n in conn.execute(text(sql)):
        by_kind[str(kind)] = by_kind.get(str(kind), 0) + int(n)
        for feature in str(features or "other").split(","):
            by_feature.setdefault(feature, {})
            by_feature[feature][str(kind)] = by_feature[feature].get(str(kind), 0) + int(n)
    return PlanSummary(
        statuses=state.statuses,
        rules=state.rules,
        kinds=plan_counts(conn, plan_source, by_kind=by_kind),
        by_feature={f: ordered(k) for f, k in sorted(by_feature.items())},
    )


# What a person reads for a target: the album's name (from the mirror, or the name a `name:` target
# carries), the tag value (the target already), nothing for dates.
TARGET_NAME = (
    "CASE WHEN p.kind LIKE 'album%' THEN coalesce((SELECT al.name FROM albums AS al WHERE al.id = p.target), "
    f"CASE WHEN substr(p.target, 1, {len(NAME_PREFIX)}) = '{NAME_PREFIX}' "
    f"THEN substr(p.target, {len(NAME_PREFIX) + 1}) END) "
    "WHEN p.kind LIKE 'tag%' THEN p.target END"
)


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
    columns = ", ".join(f"p.{c}" for c in (*PLAN_COLUMNS, SOURCE_COLUMN))
    sql = f"SELECT {columns}, {TARGET_NAME} FROM {source} AS p ORDER BY p.kind, p.target, p.asset_id"
    result = (
        conn.execute(text(sql + " LIMIT :limit"), {"limit": limit})
        if limit is not None
        else conn.execute(text(sql))
    )
    for row in result:
        yield PlanRow(*row)
