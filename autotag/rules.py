"""Classification rules compiled into SQL: small tables holding the user's values, and views over the mirror.

User values (regexes, tag values, album ids, marker names, visibilities) are never formatted into SQL:
views cannot take parameters, so the values go into the ``rule_*`` tables below, written with bound
parameters, and the views join them. The one exception is a rule's ``sql:`` predicate, which is user SQL
by design (trusted like ``autotag sql``): it gets a view of its own, ``rule_sql_<n>``, and is tried
against ``assets`` before anything is installed, so a typo is a ``RuleError`` naming the rule.

Speed: the album regexes run once per album name (``classifying_albums`` reads what
``autotag.derived`` kept of them, so the views need no REGEXP), tag rules once per tag
(``classifying_tags``); the per-asset work is index lookups on ``album_assets``/``asset_tags`` and one
GROUP BY over the matches, so classifying a million assets stays a few seconds.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from autotag.config import RULE_NAME, AutotagConfig, RuleConfig, RuleCriteria
from immich_mirror.errors import RuleError

log = logging.getLogger(__name__)

RULE_TABLES: dict[str, str] = {
    # kind: album_regex | album_id | tag | tag_prefix (descendants: the tag value + '/') | person (a name)
    # | min_faces (a number of people) | sql
    "rule_defs": "rule TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, "
    "PRIMARY KEY (rule, kind, value)",
    "rule_names": "position INTEGER PRIMARY KEY, rule TEXT NOT NULL UNIQUE",
    # Rules with `exclusive: false` ("Best of 2023"): they classify, but never make a conflict.
    "rule_nonexclusive": "rule TEXT PRIMARY KEY",
    "rule_markers": "status TEXT PRIMARY KEY, tag_value TEXT NOT NULL UNIQUE",
    "rule_scope": "visibility TEXT PRIMARY KEY",
}

# The scope in SQL. The owner comes from the mirror itself so that the views answer the same thing in
# `autotag sql` as in classify; with no owner recorded yet (never synced) nothing is in scope.
SCOPE_ASSETS = """
SELECT a.id AS asset_id
FROM assets AS a
WHERE a.is_trashed = 0
  AND a.owner_id = (SELECT value FROM sync_state WHERE key = 'owner_id')
  AND a.visibility IN (SELECT visibility FROM rule_scope)
  AND a.id NOT IN (SELECT asset_id FROM scope_exclude)
  AND (NOT EXISTS (SELECT 1 FROM scope_only) OR a.id IN (SELECT asset_id FROM scope_only))
"""



def in_scope(expr: str) -> str:
    """``expr`` (an asset id column) is in scope: a probe per row, never ``IN (SELECT ... scope_assets)``,
    which builds the whole scope set first (at 1M assets 0.2 s per use, and features use it often).
    ``autotag.shadow`` makes the probe an index lookup; in any other client it is a primary-key lookup of
    the asset plus the scope's cheap checks."""
    return f"EXISTS (SELECT 1 FROM scope_assets AS s_ WHERE s_.asset_id = {expr})"


# The regexes ran in Python when autotag last wrote the mirror (autotag.derived): no view needs REGEXP.
CLASSIFYING_ALBUMS = """
SELECT m.key AS album_id, m.param AS rule
FROM derived_album_rules AS m
UNION
SELECT al.id, d.rule
FROM rule_defs AS d JOIN albums AS al ON al.id = d.value
WHERE d.kind = 'album_id'
"""

CLASSIFYING_TAGS = """
SELECT t.id AS tag_id, d.rule AS rule
FROM rule_defs AS d JOIN tags AS t ON t.value = d.value
WHERE d.kind = 'tag'
UNION
SELECT t.id, d.rule
FROM rule_defs AS d JOIN tags AS t ON substr(t.value, 1, length(d.value)) = d.value
WHERE d.kind = 'tag_prefix'
"""

# People by exact name: every person of that name (Immich lets two clusters share one), hidden or not.
CLASSIFYING_PEOPLE = """
SELECT p.id AS person_id, d.rule AS rule
FROM rule_defs AS d JOIN people AS p ON p.name = d.value
WHERE d.kind = 'person'
"""

# Assets with at least N people recognised in them (named or not, hidden or not), per min_faces rule.
FACES_PART = """SELECT f.asset_id, d.rule, NULL
FROM rule_defs AS d
JOIN (SELECT asset_id, count(*) AS n FROM asset_people GROUP BY asset_id) AS f
  ON f.n >= CAST(d.value AS INTEGER)
WHERE d.kind = 'min_faces'"""

# One row per (asset, rule, album); group_concat sees the rows sorted, so the lists come out sorted.
# Only exclusive rules count towards a conflict; a non-exclusive rule's match alone still classifies.
CLASSIFICATION = """
SELECT s.asset_id AS asset_id,
       CASE WHEN g.asset_id IS NULL THEN 'unclassified'
            WHEN g.n_rules > 1 OR g.n_albums > 1 THEN 'conflict'
            ELSE 'classified' END AS status,
       g.matched_rules AS matched_rules,
       g.matched_albums AS matched_albums
FROM scope_assets AS s
LEFT JOIN (
    SELECT asset_id,
           count(DISTINCT CASE WHEN rule NOT IN (SELECT rule FROM rule_nonexclusive) THEN rule END) AS n_rules,
           count(DISTINCT CASE WHEN rule NOT IN (SELECT rule FROM rule_nonexclusive) THEN album_id END)
               AS n_albums,
           group_concat(DISTINCT rule) AS matched_rules,
           group_concat(DISTINCT album_id) AS matched_albums
    FROM (SELECT asset_id, rule, album_id FROM rule_matches_all ORDER BY asset_id, rule, album_id)
    GROUP BY asset_id
) AS g ON g.asset_id = s.asset_id
"""

def names(alias: str) -> str:
    """The matched albums of ``alias`` (a classification row) by name, sorted ('2019-06-01 Beach', ...):
    reasons are read by people. Only the asset's own album links are probed (an index lookup), and only
    for the rows a plan lists."""
    return (
        "(SELECT group_concat(n, ', ') FROM (SELECT DISTINCT '''' || al.name || '''' AS n "
        f"FROM album_assets AS aa JOIN albums AS al ON al.id = aa.album_id WHERE aa.asset_id = {alias}.asset_id "
        f"AND instr(',' || {alias}.matched_albums || ',', ',' || aa.album_id || ',') > 0 ORDER BY n))"
    )


DESIRED_MARKERS = f"""
SELECT c.asset_id AS asset_id,
       m.tag_value AS tag_value,
       CASE c.status WHEN 'conflict'
            THEN 'conflict: rules ' || c.matched_rules || coalesce(' via albums ' || {names("c")}, '')
            ELSE 'unclassified: no rule matched' END AS reason
FROM classification AS c JOIN rule_markers AS m ON m.status = c.status
"""

# Markers currently on in-scope assets. A marker on an asset that left the scope (trashed, hidden,
# a partner's, excluded) is deliberately absent: we cannot tell whether the user still wants it there,
# and touching assets outside the scope is exactly what the scope promises not to do.
CURRENT_MARKERS = """
SELECT at.asset_id AS asset_id, t.value AS tag_value, m.status AS status
FROM rule_markers AS m
JOIN tags AS t ON t.value = m.tag_value
JOIN asset_tags AS at ON at.tag_id = t.id
JOIN scope_assets AS s ON s.asset_id = at.asset_id
"""

# One pass over the classification, not "desired EXCEPT current" plus "current EXCEPT desired": each of
# those would compute the classification (a GROUP BY over every match) again. Per in-scope asset and
# marker: wanted = the asset's status is the marker's; present = one primary-key probe of asset_tags.
# A marker tag missing from the mirror has tag_id NULL, so it is present on no asset.
MARKER_PLAN = f"""
SELECT CASE WHEN x.wanted THEN 'tag_add' ELSE 'tag_remove' END AS kind,
       x.tag_value AS target,
       x.asset_id AS asset_id,
       CASE WHEN NOT x.wanted AND x.status = 'classified' THEN 'classified: rule ' || x.matched_rules
            WHEN NOT x.wanted THEN 'now ' || x.status
            WHEN x.status = 'conflict'
            THEN 'conflict: rules ' || x.matched_rules || coalesce(' via albums ' || {names("x")}, '')
            ELSE 'unclassified: no rule matched' END AS reason,
       CASE WHEN x.wanted THEN 'tag_add:' ELSE 'tag_remove:' END || x.tag_value || ':' || x.asset_id
           AS idem_key
FROM (
    SELECT c.asset_id, c.status, c.matched_rules, c.matched_albums, m.tag_value,
           c.status = m.status AS wanted,
           EXISTS (SELECT 1 FROM asset_tags AS at WHERE at.asset_id = c.asset_id AND at.tag_id = m.tag_id)
               AS present
    FROM classification AS c
    CROSS JOIN (SELECT rm.status, rm.tag_value, t.id AS tag_id
                FROM rule_markers AS rm LEFT JOIN tags AS t ON t.value = rm.tag_value) AS m
) AS x
WHERE x.wanted <> x.present
"""


@dataclass(frozen=True)
class RuleSet:
    """Where a set of rules lives: the tables holding its criteria and the views matching assets to them.
    Classification's rules and the smart albums' (autotag.features.smart_albums) are compiled alike;
    a rule set's "rule" is a rule name, or a smart album's name."""

    defs: str  # (rule, kind, value), as RULE_TABLES["rule_defs"]
    names: str  # (position, rule)
    album_matches: str  # autotag.derived's table of album regex matches (key = album id, param = rule)
    albums: str  # the views: albums, tags and people that count for a rule, assets matching a sql: ...
    tags: str
    people: str
    sql_prefix: str
    matches: str  # ... and every match: (asset_id, rule, album_id)


CLASSIFYING = RuleSet(
    defs="rule_defs", names="rule_names", album_matches="derived_album_rules", albums="classifying_albums",
    tags="classifying_tags", people="classifying_people", sql_prefix="rule_sql_", matches="rule_matches_all",
)


def _over(sql: str, rs: RuleSet) -> str:
    """``sql``, written for classification's tables, over the tables of ``rs``."""
    return sql.replace("rule_defs", rs.defs).replace("derived_album_rules", rs.album_matches)


def _sql_view(position: int, rs: RuleSet = CLASSIFYING) -> str:
    return f"{rs.sql_prefix}{position}"


def _predicate_view(predicate: str) -> str:
    return f"SELECT assets.id AS asset_id FROM assets WHERE ({predicate}\n)"


def match_views(rs: RuleSet, rules: Sequence[RuleCriteria]) -> dict[str, str]:
    """The views matching assets to ``rules`` (positions as in ``rs.names``), ending with ``rs.matches``."""
    views: dict[str, str] = {
        rs.albums: _over(CLASSIFYING_ALBUMS, rs),
        rs.tags: _over(CLASSIFYING_TAGS, rs),
        rs.people: _over(CLASSIFYING_PEOPLE, rs),
    }
    parts = [
        "SELECT aa.asset_id AS asset_id, ca.rule AS rule, ca.album_id AS album_id\n"
        f"FROM {rs.albums} AS ca JOIN album_assets AS aa ON aa.album_id = ca.album_id",
        "SELECT at.asset_id, ct.rule, NULL\n"
        f"FROM {rs.tags} AS ct JOIN asset_tags AS at ON at.tag_id = ct.tag_id",
        "SELECT ap.asset_id, cp.rule, NULL\n"
        f"FROM {rs.people} AS cp JOIN asset_people AS ap ON ap.person_id = cp.person_id",
        _over(FACES_PART, rs),
    ]
    for position, rule in enumerate(rules):
        if rule.sql is not None:
            name = _sql_view(position, rs)
            views[name] = _predicate_view(rule.sql)
            # position is an int from enumerate, not a user value: safe to put into the SQL text.
            parts.append(
                f"SELECT p.asset_id, r.rule, NULL FROM {name} AS p "
                f"JOIN {rs.names} AS r ON r.position = {position:d}"
            )
    views[rs.matches] = "\nUNION ALL\n".join(parts)
    return views


def rule_views(cfg: AutotagConfig) -> dict[str, str]:
    """Every rule view, in creation order (a view must exist before the views that read it)."""
    views: dict[str, str] = {"scope_assets": SCOPE_ASSETS, **match_views(CLASSIFYING, cfg.rules)}
    # A probe of the asset's row per match (EXISTS: a primary-key lookup and the scope's cheap checks)
    # rather than IN, which builds the whole in-scope set first: matches are a fraction of the library
    # (at 100k assets 0.47 s -> 0.07 s; at 1M 1.1 s -> 0.7 s).
    views["rule_matches"] = (
        "SELECT m.asset_id, m.rule, m.album_id FROM rule_matches_all AS m "
        "WHERE EXISTS (SELECT 1 FROM scope_assets AS s WHERE s.asset_id = m.asset_id)"
    )
    views["classification"] = CLASSIFICATION
    views["unclassified"] = "SELECT * FROM classification WHERE status = 'unclassified'"
    views["conflicts"] = "SELECT * FROM classification WHERE status = 'conflict'"
    views["desired_markers"] = DESIRED_MARKERS
    views["current_markers"] = CURRENT_MARKERS
    views["marker_plan"] = MARKER_PLAN
    return views


def _criteria(rule: RuleCriteria) -> Iterator[tuple[str, str]]:
    for pattern in rule.album_name_regex:
        yield "album_regex", pattern
    for album_id in rule.album_ids:
        yield "album_id", album_id
    for tag in rule.tags:
        yield "tag", tag
        if rule.include_descendants:
            yield "tag_prefix", tag + "/"
    for name in rule.people:
        yield "person", name
    if rule.min_faces is not None:
        yield "min_faces", str(rule.min_faces)


def _label(position: int, rule: RuleConfig) -> str:
    return f"rules[{position}] ({rule.name})"


def smart_label(position: int, album: str) -> str:
    return f"smart_albums[{position}] ({album})"


def check_rules(cfg: AutotagConfig) -> None:
    """Everything about the rules that can be checked without a database; one-line ``RuleError``s."""
    seen: dict[str, int] = {}
    markers = {cfg.markers.unclassified, cfg.markers.conflict, cfg.markers.review}
    for position, rule in enumerate(cfg.rules):
        label = _label(position, rule)
        if not RULE_NAME.match(rule.name):
            raise RuleError(f"{label}: name: use letters, digits, '_', '-' or '.' (no spaces or commas)")
        if rule.name in seen:
            raise RuleError(f"{label}: name: already used by rules[{seen[rule.name]}]")
        seen[rule.name] = position
        _check_criteria(label, rule, markers)
    albums: dict[str, int] = {}
    for position, smart in enumerate(cfg.smart_albums):
        label = smart_label(position, smart.album)
        if smart.album in albums:
            raise RuleError(f"{label}: album: already used by smart_albums[{albums[smart.album]}]")
        albums[smart.album] = position
        # Markers are written after the plan is made: a smart album of them would always be a run behind.
        _check_criteria(label, smart, markers)
        for pattern in smart.album_name_regex:
            if re.search(pattern, smart.album):
                raise RuleError(f"{label}: album_name_regex: {pattern!r} matches the smart album itself, so "
                                "whatever is in it would stay; narrow the regex or rename the album")
        # Filling an album an exclusive rule counts would make conflicts the tool then flags.
        for rule in cfg.rules:
            if rule.exclusive and any(re.search(p, smart.album) for p in rule.album_name_regex):
                raise RuleError(f"{label}: rule {rule.name} counts the album '{smart.album}' and is exclusive, so "
                                "filling it would make conflicts; make the rule exclusive: false or give the smart "
                                "album another name")


def _check_criteria(label: str, rule: RuleCriteria, markers: set[str]) -> None:
    if not (rule.album_name_regex or rule.album_ids or rule.tags or rule.people or rule.min_faces or rule.sql):
        raise RuleError(f"{label}: matches nothing: give album_name_regex, album_ids, tags, people, min_faces or sql")
    if any(not name.strip() for name in rule.people):
        raise RuleError(f"{label}: people: empty name (unnamed people have no name to match: use min_faces)")
    for pattern in rule.album_name_regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RuleError(f"{label}: invalid regex {pattern!r}: {exc}") from None
    for tag in rule.tags:
        if not tag.strip():
            raise RuleError(f"{label}: tags: empty tag value")
        # A marker that classified would undo itself on the next run: refuse the loop up front.
        clash = [m for m in markers if m == tag or (rule.include_descendants and m.startswith(tag + "/"))]
        if clash:
            raise RuleError(f"{label}: tags: {tag!r} would match the marker tag {clash[0]!r}")
    if rule.sql is not None and not rule.sql.strip():
        raise RuleError(f"{label}: sql: empty predicate")


def ensure_rule_tables(conn: Connection) -> None:
    for name, columns in RULE_TABLES.items():
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def write_rule_tables(conn: Connection, cfg: AutotagConfig) -> None:
    """Replace the rule tables' rows with ``cfg`` (bound parameters only)."""
    for name in RULE_TABLES:
        conn.exec_driver_sql(f"DELETE FROM {name}")
    write_rule_defs(conn, CLASSIFYING, [(r.name, r) for r in cfg.rules])
    nonexclusive = [{"rule": r.name} for r in cfg.rules if not r.exclusive]
    if nonexclusive:
        conn.execute(text("INSERT INTO rule_nonexclusive (rule) VALUES (:rule)"), nonexclusive)
    conn.execute(
        text("INSERT INTO rule_markers (status, tag_value) VALUES (:status, :tag_value)"),
        [
            {"status": "unclassified", "tag_value": cfg.markers.unclassified},
            {"status": "conflict", "tag_value": cfg.markers.conflict},
        ],
    )
    conn.execute(
        text("INSERT OR IGNORE INTO rule_scope (visibility) VALUES (:v)"),
        [{"v": v} for v in cfg.scope.visibility],
    )


def write_rule_defs(conn: Connection, rs: RuleSet, rules: Sequence[tuple[str, RuleCriteria]]) -> None:
    """The ``names`` and ``defs`` rows of ``rules`` ((rule, criteria), in position order), bound parameters
    only (the caller emptied the tables)."""
    if not rules:
        return
    conn.execute(
        text(f"INSERT INTO {rs.names} (position, rule) VALUES (:position, :rule)"),
        [{"position": i, "rule": name} for i, (name, _r) in enumerate(rules)],
    )
    defs = [{"rule": name, "kind": kind, "value": value} for name, r in rules for kind, value in _criteria(r)]
    defs += [{"rule": name, "kind": "sql", "value": r.sql} for name, r in rules if r.sql is not None]
    if defs:
        conn.execute(
            text(f"INSERT OR IGNORE INTO {rs.defs} (rule, kind, value) VALUES (:rule, :kind, :value)"), defs
        )


def check_sql_predicates(conn: Connection, cfg: AutotagConfig) -> None:
    """Compile each ``sql:`` predicate (of the rules and the smart albums) and run it over a few assets,
    so errors surface now, named."""
    predicates = [(_label(i, r), r.sql) for i, r in enumerate(cfg.rules)]
    predicates += [(smart_label(i, s.album), s.sql) for i, s in enumerate(cfg.smart_albums)]
    for label, sql in predicates:
        if sql is None:
            continue
        # The sample is aliased `assets` so that `assets.<column>` in the predicate resolves against it;
        # running on real rows catches runtime errors (a bad REGEXP pattern) that compiling does not.
        probe = f"SELECT 1 FROM (SELECT * FROM assets LIMIT 50) AS assets WHERE ({sql}\n)"
        try:
            conn.exec_driver_sql(probe).fetchall()
        except (DBAPIError, ValueError) as exc:
            orig = getattr(exc, "orig", None) or exc
            # A smart album may read the rule views ("the unclassified photos"), which a mirror gets
            # only with its first install, just after this check.
            absent = re.fullmatch(r"no such table: (\w+)", str(orig))
            if label.startswith("smart_albums") and absent and absent.group(1) in rule_views(cfg):
                continue
            raise RuleError(f"{label}: sql: {orig}") from None
        missing = _function_only_autotag_has(conn, probe)
        if missing:
            log.warning(
                "%s: sql: uses %s, which other SQLite clients (Datasette, Python's sqlite3) lack: only "
                "`autotag sql` can read the rule views; LIKE or GLOB would keep them readable everywhere",
                label,
                missing,
            )


def _function_only_autotag_has(conn: Connection, probe: str) -> str | None:
    """The function of autotag's that ``probe`` calls, found by compiling it in a plain connection to the
    same file (SQLite's error names the function); None when it needs none."""
    path = conn.engine.url.database
    if not path or path == ":memory:":
        return None
    plain = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        plain.execute("EXPLAIN " + probe).fetchall()
        return None
    except sqlite3.OperationalError as exc:
        found = re.search(r"no such function: (\w+)", str(exc))
        return found.group(1).upper() if found else None
    finally:
        plain.close()
