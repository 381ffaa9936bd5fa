"""One classification per asset per plan: the organiser features' album and tag additions are proposals.

A plan row of a feature that would *classify* its asset (an ``album_add`` to a classifying album, or to
a ``name:`` album whose name a rule's regex matches; a ``tag_add`` of a classifying tag) is a proposal.
``resolve`` judges the proposals of one materialized plan (a temp table with the plan's columns),
in SQL, before anything is queued:

- an asset that is already classified (or in conflict) gets no proposal: nothing moves it;
- with duplicate propagation on, what a feature proposes for one member of a duplicate group that no
  member classifies yet is proposed by ``duplicates`` for the others too (so twins settle alike);
- an unclassified asset whose proposals name one classification gets it; when they name several, the
  best-ranked feature in ``precedence`` that proposed something decides if it names one; otherwise
  the asset gets none of them, nothing else from the features either, and the review marker, whose
  reason names every proposal ("folder says album '2012-06-04 Camping'; duplicate says album ...");
- a choice that would leave a duplicate group classified two ways is not made (review instead).

Smart albums' rows (feature ``smart_albums``) are no proposals: a smart album holds what its rule
matches whatever classifies the asset, so they are neither judged nor dropped for an asset under review.

So a run never puts an unclassified asset in conflict. The review marker comes off once the asset is
classified (by hand) or its proposals agree. Date repair's disagreements (``date_reviews``: the asset's
own file-name date against a duplicate's) put an asset under review the same way, classified or not.
``autotag.closure`` calls ``resolve`` on every round.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from autotag.config import AutotagConfig
from autotag.counts import NAME_PREFIX
from autotag.features.common import setting
from immich_mirror.db.engine import sql_regexp_date

REVIEW = "review"  # the plan's ``features`` value of the review marker's rows
RULES = "rules"  # ... and of the rules' markers
SMART = "smart_albums"  # a feature whose rows are no proposals (module doc)
UNRANKED = 1000
LABELS = {"folder_albums": "folder", "duplicates": "duplicate", "tag_albums": "tag rule"}
_TEMP = ("res_labels", "res_albums", "res_props", "res_members", "res_spread", "res_classified", "res_votes",
         "res_verdict", "res_bad_groups", "res_dates", "res_album_days", "res_far", "res_review", "res_choices",
         "res_held", "res_markers")
# What a person decided in ``autotag review`` (autotag.decisions): a proposal they chose settles its
# asset's disagreement; a review marker row they rejected is not planned (and counted as held back).
_CHOSEN = "SELECT idem_key FROM review_decisions WHERE decision = 'chosen'"
_REJECTED = "SELECT idem_key FROM review_decisions WHERE decision = 'rejected'"


def _is_chosen(row: str) -> str:
    """Whether plan row ``row`` (an alias or table name) is a proposal a person chose: by its key, or, for
    an album the push was to create by name and that exists since, by the key it was chosen under."""
    return (f"({row}.idem_key IN ({_CHOSEN}) OR coalesce({row}.kind = 'album_add' AND 'album_add:name:' || "
            f"(SELECT a.name FROM albums AS a WHERE a.id = {row}.target) || ':' || {row}.asset_id IN ({_CHOSEN}), 0))")


@dataclass
class Outcome:
    """What the last ``resolve`` left for a person (read before ``drop``): the competing proposals of each
    asset under review, ``(idem_key, kind, target, label)``, and the review marker rows held back."""

    choices: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    held: int = 0


@dataclass(frozen=True)
class Proposals:
    review_tag: str
    ranks: dict[str, int] = field(default_factory=dict)  # feature -> rank (0 first); unlisted: UNRANKED
    duplicates: bool = False  # duplicate propagation is on: groups classify alike or not at all
    album_dates: bool = False  # album dates are checked: an album far from the asset's date is no answer
    dates: bool = False  # date repair is on: its disagreements (``date_reviews``) go to review too

    @classmethod
    def of(cls, cfg: AutotagConfig) -> Proposals:
        return cls(
            review_tag=cfg.markers.review,
            ranks={f: i for i, f in enumerate(cfg.precedence)},
            duplicates=cfg.duplicates.enabled,
            album_dates=cfg.album_dates.enabled,
            dates=cfg.dates.enabled,
        )


# A person's word for a proposal's key: album 'name' / tag 'value' (``p`` has kind and target).
_WHAT = (
    "CASE WHEN p.kind = 'album_add' THEN 'album ''' || coalesce((SELECT al.name FROM albums AS al "
    f"WHERE al.id = p.target), substr(p.target, {len(NAME_PREFIX) + 1})) || '''' "
    "ELSE 'tag ''' || p.target || '''' END"
)
_KEY = "CASE WHEN p.kind = 'album_add' THEN 'album:' ELSE 'tag:' END || p.target"


def _not_smart(alias: str) -> str:
    """The plan row ``alias`` was not asked for by a smart album (alone or with other features)."""
    return f"instr(',' || coalesce({alias}.features, '') || ',', ',{SMART},') = 0"


def _x(conn: Connection, sql: str, params: Sequence[object] = ()) -> None:
    conn.exec_driver_sql(sql, tuple(params))


def resolve(conn: Connection, table: str, proposals: Proposals) -> bool:
    """Apply the rules above to the plan rows in ``table`` (in place), leaving ``temp.res_review``;
    says whether ``table`` held any feature's rows (autotag.closure needs no other look for them)."""
    drop(conn)
    _x(conn, "CREATE TEMP TABLE res_review (asset_id TEXT PRIMARY KEY, reason TEXT)")
    _x(conn, "CREATE TEMP TABLE res_choices (asset_id TEXT, idem_key TEXT, kind TEXT, target TEXT, label TEXT)")
    _smart_albums_are_their_rules(conn, table)
    # Whether any feature planned a row (smart albums' additions are structural though no proposals),
    # then whether any of them proposes: with neither, the default rules alone, one scan says both.
    planned = f"SELECT 1 FROM {table} WHERE features NOT IN ('{RULES}', '{REVIEW}') LIMIT 1"
    proposing = f"SELECT 1 FROM {table} WHERE features NOT IN ('{RULES}', '{REVIEW}') AND {_not_smart(table)} LIMIT 1"
    features = conn.exec_driver_sql(planned).first() is not None
    if not features or conn.exec_driver_sql(proposing).first() is None:  # nothing to propose
        if proposals.dates:
            _date_reviews(conn)
            drop_reviewed(conn, table)
        _review_markers(conn, table, proposals.review_tag)
        return features
    _x(conn, "CREATE TEMP TABLE res_labels (feature TEXT PRIMARY KEY, rank INTEGER, label TEXT)")
    conn.exec_driver_sql(
        "INSERT INTO temp.res_labels VALUES (?, ?, ?)",
        [(f, proposals.ranks.get(f, UNRANKED), label) for f, label in LABELS.items()],
    )
    _x(conn, "CREATE TEMP TABLE res_albums AS SELECT DISTINCT album_id FROM classifying_albums")
    _new_classifying_albums(conn, table)
    _x(conn, "CREATE TEMP TABLE res_props (idem_key TEXT PRIMARY KEY, asset_id TEXT, kind TEXT, target TEXT, "
             "features TEXT, key TEXT)")
    _x(conn, _insert_props(f"SELECT * FROM {table} AS p WHERE p.features NOT IN ('{RULES}', '{REVIEW}') "
                           f"AND {_not_smart('p')}"))
    if proposals.duplicates:
        _spread(conn, table)
        _smart_albums_are_their_rules(conn, table)
        _x(conn, f"DELETE FROM temp.res_props WHERE idem_key NOT IN (SELECT idem_key FROM {table})")
    # Already classified (or in conflict): no proposal moves it.
    _x(conn, "CREATE TEMP TABLE res_classified (asset_id TEXT PRIMARY KEY)")
    _x(conn, "INSERT OR IGNORE INTO temp.res_classified SELECT asset_id FROM rule_matches_all "
             "WHERE asset_id IN (SELECT asset_id FROM temp.res_props)")
    _x(conn, f"DELETE FROM {table} WHERE idem_key IN (SELECT idem_key FROM temp.res_props "
             "WHERE asset_id IN (SELECT asset_id FROM temp.res_classified))")
    _x(conn, "DELETE FROM temp.res_props WHERE asset_id IN (SELECT asset_id FROM temp.res_classified)")
    # One vote per (proposal, feature that made it); the best rank present decides, if it names one key.
    _x(conn, "CREATE TEMP TABLE res_votes AS SELECT p.asset_id, p.idem_key, p.kind, p.target, p.key, l.feature, "
             "l.rank, l.label FROM temp.res_props AS p JOIN temp.res_labels AS l "
             "ON instr(',' || p.features || ',', ',' || l.feature || ',') > 0")
    _x(conn, "CREATE TEMP TABLE res_verdict (asset_id TEXT PRIMARY KEY, accepted TEXT)")
    _x(conn, "INSERT INTO temp.res_verdict SELECT v.asset_id, "
             "CASE WHEN count(DISTINCT v.idem_key) = 1 THEN min(v.idem_key) END FROM temp.res_votes AS v "
             "JOIN (SELECT asset_id, min(rank) AS best FROM temp.res_votes GROUP BY asset_id) AS b "
             "ON b.asset_id = v.asset_id AND v.rank = b.best GROUP BY v.asset_id")
    if proposals.duplicates:
        _group_check(conn)
    _x(conn, "CREATE TEMP TABLE res_far (idem_key TEXT PRIMARY KEY, day TEXT)")
    if proposals.album_dates:
        _date_check(conn, table)
    # What the person chose in `autotag review` settles the asset, whatever the checks above said: they
    # saw the proposals side by side (nothing moves an asset that is already classified, though).
    _x(conn, "UPDATE temp.res_verdict SET accepted = (SELECT max(p.idem_key) FROM temp.res_props AS p "
             f"WHERE p.asset_id = res_verdict.asset_id AND {_is_chosen('p')}) "
             f"WHERE asset_id IN (SELECT p.asset_id FROM temp.res_props AS p WHERE {_is_chosen('p')})")
    # The competing proposals of each asset left undecided: the choices the review page offers.
    _x(conn, "INSERT INTO temp.res_choices SELECT v.asset_id, v.idem_key, v.kind, v.target, "
             f"group_concat(v.label, ', ') || ' says ' || {_WHAT.replace('p.', 'v.')} FROM "
             "(SELECT * FROM temp.res_votes ORDER BY rank, label) AS v "
             "WHERE v.asset_id IN (SELECT asset_id FROM temp.res_verdict WHERE accepted IS NULL) "
             "GROUP BY v.asset_id, v.idem_key")
    _x(conn, "INSERT INTO temp.res_review SELECT asset_id, group_concat(said, '; ') FROM "
             f"(SELECT DISTINCT p.asset_id, p.label || ' says ' || {_WHAT} || coalesce(' (taken ' || "
             "(SELECT f.day FROM temp.res_far AS f WHERE f.idem_key = p.idem_key) || ', more than ' || "
             f"{setting('album_dates', 'max_days')} || ' days from it)', '') AS said FROM temp.res_votes AS p "
             "WHERE p.asset_id IN (SELECT asset_id FROM temp.res_verdict WHERE accepted IS NULL) "
             "ORDER BY p.asset_id, p.rank, p.label, said) GROUP BY asset_id")
    if proposals.dates:
        _date_reviews(conn)
    # The losing proposals, and everything else the features planned for an asset under review.
    _x(conn, f"DELETE FROM {table} WHERE idem_key IN (SELECT p.idem_key FROM temp.res_props AS p "
             "JOIN temp.res_verdict AS v ON v.asset_id = p.asset_id "
             "WHERE v.accepted IS NULL OR v.accepted <> p.idem_key)")
    drop_reviewed(conn, table)
    _review_markers(conn, table, proposals.review_tag)
    return True


def _smart_albums_are_their_rules(conn: Connection, table: str) -> None:
    """A smart album holds what its rule matches: another feature's addition to it (a duplicate following
    its twin into it) is dropped, rather than made and taken out again run after run."""
    installed = "SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'smart_album_targets'"
    if conn.exec_driver_sql(installed).first() is None:  # no smart album configured
        return
    _x(conn, f"DELETE FROM {table} WHERE kind = 'album_add' AND {_not_smart(table)} "
             "AND target IN (SELECT target FROM smart_album_targets WHERE state IN ('create', 'ours'))")


def _insert_props(rows: str) -> str:
    """``res_props`` from plan rows (aliased ``p``) that would classify their asset."""
    return (
        f"INSERT OR IGNORE INTO temp.res_props SELECT p.idem_key, p.asset_id, p.kind, p.target, p.features, {_KEY} "
        f"FROM ({rows}) AS p WHERE p.asset_id IS NOT NULL AND ("
        "(p.kind = 'album_add' AND p.target IN (SELECT album_id FROM temp.res_albums)) "
        "OR (p.kind = 'tag_add' AND EXISTS (SELECT 1 FROM rule_defs AS d WHERE (d.kind = 'tag' AND d.value = p.target) "
        "OR (d.kind = 'tag_prefix' AND substr(p.target, 1, length(d.value)) = d.value))))"
    )


def _new_classifying_albums(conn: Connection, table: str) -> None:
    """Add to ``res_albums`` the ``name:`` targets (albums the push creates) whose name a rule's
    ``album_name_regex`` matches: they will classify. Python's regexes, as ``autotag.derived`` uses for
    existing albums (no SQL function: the SQL stays readable by any client)."""
    patterns = [str(v) for (v,) in conn.exec_driver_sql("SELECT value FROM rule_defs WHERE kind = 'album_regex'")]
    targets = conn.exec_driver_sql(
        f"SELECT DISTINCT target FROM {table} WHERE kind = 'album_add' "
        f"AND substr(target, 1, {len(NAME_PREFIX)}) = '{NAME_PREFIX}'"
    ).scalars()
    hits = [(t,) for t in targets if any(re.search(p, str(t)[len(NAME_PREFIX):]) for p in patterns)]
    if hits:
        conn.exec_driver_sql("INSERT INTO temp.res_albums (album_id) VALUES (?)", hits)


def _spread(conn: Connection, table: str) -> None:
    """In a duplicate group no member classifies yet, a proposal for one member is ``duplicates``'
    proposal for every other member (in groups with a key, ``duplicates_plan`` proposes that key)."""
    _x(conn, "CREATE TEMP TABLE res_members AS SELECT m.asset_id, m.duplicate_id FROM dup_members AS m "
             "WHERE m.duplicate_id IN (SELECT a.duplicate_id FROM assets AS a "
             "WHERE a.id IN (SELECT asset_id FROM temp.res_props) AND a.duplicate_id IS NOT NULL)")
    _x(conn, "CREATE TEMP TABLE res_spread AS SELECT p.kind AS kind, p.target AS target, m.asset_id AS asset_id, "
             f"'duplicate of a member that gets ' || min({_WHAT}) AS reason, "
             "p.kind || ':' || p.target || ':' || m.asset_id AS idem_key "
             "FROM temp.res_props AS p JOIN temp.res_members AS o ON o.asset_id = p.asset_id "
             "JOIN temp.res_members AS m ON m.duplicate_id = o.duplicate_id AND m.asset_id <> o.asset_id "
             "WHERE o.duplicate_id NOT IN (SELECT duplicate_id FROM dup_keys "
             "WHERE duplicate_id IN (SELECT duplicate_id FROM temp.res_members)) "
             "GROUP BY p.kind, p.target, m.asset_id")
    _x(conn, f"UPDATE {table} SET features = features || ',duplicates', "
             "reason = reason || '; ' || (SELECT s.reason FROM temp.res_spread AS s WHERE s.idem_key = "
             f"{table}.idem_key) WHERE idem_key IN (SELECT idem_key FROM temp.res_spread) "
             "AND instr(',' || features || ',', ',duplicates,') = 0")
    _x(conn, f"INSERT INTO {table} SELECT s.kind, s.target, s.asset_id, NULL, NULL, s.reason, s.idem_key, "
             f"'duplicates' FROM temp.res_spread AS s WHERE s.idem_key NOT IN (SELECT idem_key FROM {table})")
    _x(conn, "UPDATE temp.res_props SET features = (SELECT features FROM "
             f"{table} AS t WHERE t.idem_key = res_props.idem_key) "
             "WHERE idem_key IN (SELECT idem_key FROM temp.res_spread)")
    _x(conn, _insert_props(f"SELECT * FROM {table} WHERE idem_key IN (SELECT idem_key FROM temp.res_spread)"))


def _group_check(conn: Connection) -> None:
    """No accepted proposal may leave a duplicate group with two keys: its members go to review."""
    _x(conn, "CREATE TEMP TABLE res_bad_groups AS SELECT duplicate_id FROM ("
             "SELECT k.duplicate_id AS duplicate_id, k.key_kind || ':' || k.key_value AS key FROM dup_keys AS k "
             "WHERE k.duplicate_id IN (SELECT duplicate_id FROM temp.res_members) "
             "UNION SELECT m.duplicate_id, p.key FROM temp.res_verdict AS v "
             "JOIN temp.res_props AS p ON p.idem_key = v.accepted "
             "JOIN temp.res_members AS m ON m.asset_id = v.asset_id) "
             "GROUP BY duplicate_id HAVING count(DISTINCT key) > 1")
    _x(conn, "UPDATE temp.res_verdict SET accepted = NULL WHERE accepted IS NOT NULL AND asset_id IN "
             "(SELECT asset_id FROM temp.res_members "
             "WHERE duplicate_id IN (SELECT duplicate_id FROM temp.res_bad_groups))")


def _date_check(conn: Connection, table: str) -> None:
    """An album whose name's date is far from the date the plan leaves the asset with (album dates would
    flag it at once) is no answer the tool can be sure of: the asset goes to review, naming the date."""
    _x(conn, "CREATE TEMP TABLE res_dates (asset_id TEXT PRIMARY KEY, day TEXT)")
    _x(conn, "INSERT OR IGNORE INTO temp.res_dates SELECT asset_id, "
             f"substr(json_extract(payload, '$.dateTimeOriginal'), 1, 10) FROM {table} WHERE kind = 'set_date' "
             "AND asset_id IN (SELECT asset_id FROM temp.res_props)")
    _x(conn, "INSERT OR IGNORE INTO temp.res_dates SELECT l.asset_id, substr(l.local, 1, 10) "
             "FROM asset_local_dates AS l WHERE l.asset_id IN (SELECT asset_id FROM temp.res_props)")
    # The date each proposed album's name starts with, read in Python (album_dates.album_name_regex).
    _x(conn, "CREATE TEMP TABLE res_album_days (target TEXT PRIMARY KEY, value TEXT)")
    pattern = conn.exec_driver_sql(
        "SELECT value FROM feature_settings WHERE feature = 'album_dates' AND key = 'album_name_regex'"
    ).scalar()
    names = conn.exec_driver_sql(
        "SELECT DISTINCT p.target, coalesce((SELECT al.name FROM albums AS al WHERE al.id = p.target), "
        f"substr(p.target, {len(NAME_PREFIX) + 1})) FROM temp.res_props AS p WHERE p.kind = 'album_add'"
    ).all()
    days = [(t, sql_regexp_date(pattern, n)) for t, n in names] if pattern else []
    if days:
        conn.exec_driver_sql("INSERT INTO temp.res_album_days VALUES (?, ?)", [d for d in days if d[1]])
    max_days = setting("album_dates", "max_days")
    _x(conn, "INSERT INTO temp.res_far SELECT x.idem_key, x.day FROM (SELECT p.idem_key AS idem_key, d.day AS day, "
           "CASE WHEN length(v.value) = 7 THEN v.value || '-01' ELSE substr(v.value, 1, 10) END AS first_day, "
           "CASE WHEN length(v.value) = 7 THEN date(v.value || '-01', '+1 month', '-1 day') "
           "ELSE substr(v.value, 1, 10) END AS last_day "
           "FROM temp.res_props AS p JOIN temp.res_dates AS d ON d.asset_id = p.asset_id "
           "JOIN temp.res_album_days AS v ON v.target = p.target WHERE p.kind = 'album_add') AS x "
           f"WHERE x.day < date(x.first_day, '-' || {max_days} || ' days') "
           f"OR x.day > date(x.last_day, '+' || {max_days} || ' days')")
    _x(conn, "UPDATE temp.res_verdict SET accepted = NULL WHERE asset_id IN "
             "(SELECT p.asset_id FROM temp.res_props AS p JOIN temp.res_far AS f ON f.idem_key = p.idem_key)")


def _date_reviews(conn: Connection) -> None:
    """Date repair's disagreements (an asset's own name date against a duplicate's, which it did not
    settle: autotag.features.dates) put in-scope assets under review too, classified or not."""
    _x(conn, "INSERT INTO temp.res_review (asset_id, reason) SELECT d.asset_id, d.reason FROM date_reviews AS d "
             "WHERE EXISTS (SELECT 1 FROM scope_assets AS s WHERE s.asset_id = d.asset_id) "
             "ON CONFLICT (asset_id) DO UPDATE SET reason = res_review.reason || '; ' || excluded.reason")


def drop_reviewed(conn: Connection, table: str) -> None:
    """Take out of ``table`` every feature row of the assets the last ``resolve`` put under review."""
    if conn.exec_driver_sql("SELECT 1 FROM temp.sqlite_master WHERE name = 'res_review'").first() is None:
        return
    if conn.exec_driver_sql("SELECT 1 FROM temp.res_review LIMIT 1").first() is None:
        return  # nothing under review: no scan of the plan
    # A proposal a person chose stays: what is still in question (a date) keeps the marker beside it.
    _x(conn, f"DELETE FROM {table} WHERE asset_id IN (SELECT asset_id FROM temp.res_review) "
             f"AND coalesce(features, '') NOT IN ('{RULES}', '{REVIEW}') AND {_not_smart(table)} "
             f"AND NOT {_is_chosen(table)}")


def _review_markers(conn: Connection, table: str, tag: str) -> None:
    _x(conn, "CREATE TEMP TABLE IF NOT EXISTS res_held (idem_key TEXT PRIMARY KEY)")
    _x(conn, "DELETE FROM temp.res_held")
    # An excluded tag is never a target (autotag.excluded): the assets under review then get nothing at all.
    excluded = conn.exec_driver_sql(
        "SELECT 1 FROM scope_exclude_tags AS x WHERE ? = x.tag_value "
        "OR substr(?, 1, length(x.tag_value) + 1) = x.tag_value || '/'", (tag, tag)
    ).first()
    if excluded is not None:
        return
    # A marker row a person rejected stays out, as ``plan`` holds out the rejected rows of the features
    # (these are made here, after it): the asset stays under review, without the marker.
    _x(conn, "DROP TABLE IF EXISTS temp.res_markers")
    _x(conn, "CREATE TEMP TABLE res_markers AS "
             "SELECT 'tag_add' AS kind, ? AS target, r.asset_id AS asset_id, 'review: ' || r.reason AS reason, "
             "'tag_add:' || ? || ':' || r.asset_id AS idem_key FROM temp.res_review AS r "
             "WHERE NOT EXISTS (SELECT 1 FROM asset_tags AS at JOIN tags AS t ON t.id = at.tag_id "
             "WHERE at.asset_id = r.asset_id AND t.value = ?) "
             "UNION ALL SELECT 'tag_remove', t.value, at.asset_id, 'review settled: no competing proposals', "
             "'tag_remove:' || t.value || ':' || at.asset_id "
             "FROM tags AS t JOIN asset_tags AS at ON at.tag_id = t.id WHERE t.value = ? "
             "AND EXISTS (SELECT 1 FROM scope_assets AS s WHERE s.asset_id = at.asset_id) "
             "AND at.asset_id NOT IN (SELECT asset_id FROM temp.res_review)", (tag, tag, tag, tag))
    _x(conn, f"INSERT INTO temp.res_held SELECT idem_key FROM temp.res_markers WHERE idem_key IN ({_REJECTED})")
    _x(conn, f"INSERT INTO {table} SELECT kind, target, asset_id, NULL, NULL, reason, idem_key, '{REVIEW}' "
             "FROM temp.res_markers WHERE idem_key NOT IN (SELECT idem_key FROM temp.res_held)")
    _x(conn, "DROP TABLE temp.res_markers")


def outcome(conn: Connection) -> Outcome:
    """What the last ``resolve`` on ``conn`` left for a person (call it before ``drop``)."""
    found = Outcome()
    if conn.exec_driver_sql("SELECT 1 FROM temp.sqlite_master WHERE name = 'res_choices'").first() is not None:
        for asset_id, key, kind, target, label in conn.exec_driver_sql(
            "SELECT asset_id, idem_key, kind, target, label FROM temp.res_choices ORDER BY asset_id, label"
        ):
            found.choices.setdefault(str(asset_id), []).append((str(key), str(kind), str(target), str(label)))
    if conn.exec_driver_sql("SELECT 1 FROM temp.sqlite_master WHERE name = 'res_held'").first() is not None:
        found.held = int(conn.exec_driver_sql("SELECT count(*) FROM temp.res_held").scalar_one())
    return found


def drop(conn: Connection) -> None:
    for name in _TEMP:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
