"""Smart albums: an album the tool creates and keeps equal to a rule ("every photo of Alice or Bob").

Each ``smart_albums`` entry is an album name and criteria in the rule language of classification
(album regexes, album ids, tags with descendants, people, ``min_faces``, a ``sql:`` predicate for
dates, paths and anything else), compiled by the same code (``autotag.rules.match_views``) into views
of their own: a smart album's rule never classifies, and its members count for classification only
if a classification rule names the album (the user said so then).

The album is found by name among the albums the user owns:

- none: ``album_add`` rows target ``name:<album>``; the pusher creates the album once and records it
  in ``created_albums`` (autotag.features.album_create), which makes it the tool's;
- one that ``created_albums`` lists (not deleted by undo): the tool owns it, so it is kept equal to
  the rule: ``album_add`` for matching in-scope assets it lacks, ``album_remove`` for in-scope members
  that no longer match. The rule wins over hand edits: a photo taken out by hand comes back while it
  matches, one put in by hand goes out (docs/rules.md, "Smart albums"). Out-of-scope members (trashed,
  hidden, a partner's, excluded) are never touched;
- one the tool did not create, or several of that name: nothing is planned for it, and
  ``smart_albums_problems`` says why and what to do (the tool never edits an album it did not make).

The rows are the feature ``smart_albums``'s; they are not proposals (autotag.proposals leaves them as
they are): a smart album holds what its rule says whatever classifies the asset.
"""

from __future__ import annotations

from sqlalchemy import Connection

from autotag.config import AutotagConfig
from autotag.rules import RuleSet, match_views, write_rule_defs

FEATURE = "smart_albums"

SMART = RuleSet(
    defs="smart_album_defs", names="smart_album_names", album_matches="derived_smart_album_rules",
    albums="smart_album_source_albums", tags="smart_album_tags", people="smart_album_people",
    sql_prefix="smart_album_sql_", matches="smart_album_matches_all",
)

TABLES: dict[str, str] = {
    # as rule_defs and rule_names (autotag.rules), the "rule" being the smart album's name
    SMART.defs: "rule TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (rule, kind, value)",
    SMART.names: "position INTEGER PRIMARY KEY, rule TEXT NOT NULL UNIQUE",
}

# Per smart album: the album it means and whether the tool may change it. ``state``: ``create`` (no
# album of that name: the pusher creates it), ``ours`` (one, created by the tool; inside the plan's
# rehearsal (autotag.closure) also the album it pretends to create, whose id is ``name:<album>``),
# ``foreign`` (one the tool did not create), ``several``, ``shared`` (folder albums fill it too: each
# would undo the other, run after run).
SHARED = "WHEN EXISTS (SELECT 1 FROM album_wants AS w WHERE w.album_name = n.rule) THEN 'shared'"
SMART_ALBUM_TARGETS = """
SELECT n.position AS position, n.rule AS album_name, o.album_id AS album_id,
       CASE {shared}
            WHEN o.n IS NULL THEN 'create'
            WHEN o.n > 1 THEN 'several'
            WHEN o.album_id = 'name:' || n.rule
                 OR EXISTS (SELECT 1 FROM created_albums AS c WHERE c.album_id = o.album_id AND c.deleted_at IS NULL)
            THEN 'ours'
            ELSE 'foreign' END AS state,
       CASE WHEN o.n IS NULL THEN 'name:' || n.rule ELSE o.album_id END AS target
FROM smart_album_names AS n
LEFT JOIN (SELECT name, count(*) AS n, min(id) AS album_id FROM albums
           WHERE is_owned = 1 AND name IN (SELECT rule FROM smart_album_names) GROUP BY name) AS o
  ON o.name = n.rule
"""

# What each smart album should hold: the in-scope assets its rule matches.
SMART_ALBUM_MEMBERS = """
SELECT DISTINCT m.rule AS album_name, m.asset_id AS asset_id
FROM smart_album_matches_all AS m
WHERE EXISTS (SELECT 1 FROM scope_assets AS s WHERE s.asset_id = m.asset_id)
"""

# One pass: the matches (wanted) and the members (present) of every smart album, grouped by album and
# asset; where they differ, an addition or a removal. The scope is probed only for those few rows (an
# out-of-scope asset is neither added nor removed), not for every match (at 100k assets, 3 smart albums,
# converged: 0.27-0.87 s as two passes with a probe per match, 0.11-0.14 s so). A removal from the album
# the plan's rehearsal pretends to create takes back an earlier round's addition (autotag.closure cancels
# the pair); other features' additions to a smart album are dropped by autotag.proposals.
SMART_ALBUMS_PLAN = """
SELECT CASE WHEN x.wanted THEN 'album_add' ELSE 'album_remove' END AS kind, x.target AS target,
       x.asset_id AS asset_id, NULL AS payload, NULL AS before,
       CASE WHEN x.wanted THEN 'smart album rule matches'
            ELSE 'smart album rule no longer matches (the rule decides what a smart album holds)' END AS reason,
       CASE WHEN x.wanted THEN 'album_add:' ELSE 'album_remove:' END || x.target || ':' || x.asset_id AS idem_key
FROM (
    SELECT target, asset_id, max(wanted) AS wanted, max(present) AS present FROM (
        SELECT t.target AS target, m.asset_id AS asset_id, 1 AS wanted, 0 AS present
        FROM smart_album_matches_all AS m CROSS JOIN smart_album_targets AS t
        WHERE t.album_name = m.rule AND t.state IN ('create', 'ours')
        UNION ALL
        SELECT t.target, aa.asset_id, 0, 1
        FROM smart_album_targets AS t JOIN album_assets AS aa ON aa.album_id = t.target
        WHERE t.state = 'ours'
    ) GROUP BY target, asset_id HAVING max(wanted) <> max(present)
) AS x
WHERE EXISTS (SELECT 1 FROM scope_assets AS s WHERE s.asset_id = x.asset_id)
"""

_LABEL = "'smart_albums[' || t.position || '] (' || t.album_name || ')'"

SMART_ALBUMS_PROBLEMS = f"""
SELECT '{FEATURE}' AS feature,
       {_LABEL} || ': the album ''' || t.album_name || ''' was not created by autotag, so autotag does not '
       || 'change it: nothing planned; rename that album or give the smart album another name' AS problem
FROM smart_album_targets AS t WHERE t.state = 'foreign'
UNION ALL
SELECT '{FEATURE}', {_LABEL} || ': you own several albums named ''' || t.album_name
       || ''': nothing planned; rename or delete all but one'
FROM smart_album_targets AS t WHERE t.state = 'several'
UNION ALL
SELECT '{FEATURE}', {_LABEL} || ': folder_albums fills the album ''' || t.album_name
       || ''' too: nothing planned; give the smart album another name'
FROM smart_album_targets AS t WHERE t.state = 'shared'
UNION ALL
SELECT DISTINCT '{FEATURE}', {_LABEL} || ': rule ' || d.param || ' counts the album ''' || t.album_name
       || ''': its members are classified by it, and a member another rule matches is a conflict; '
       || 'make the rule exclusive: false or give the smart album another name'
FROM smart_album_targets AS t JOIN derived_album_rules AS d ON d.key = t.album_id
WHERE t.state = 'ours' AND d.param NOT IN (SELECT rule FROM rule_nonexclusive)
"""


def enabled(cfg: AutotagConfig) -> bool:
    return bool(cfg.smart_albums)


def write(conn: Connection, cfg: AutotagConfig) -> None:
    """The smart albums' criteria, as the rules' are written (bound parameters only)."""
    for name in TABLES:
        conn.exec_driver_sql(f"DELETE FROM {name}")
    write_rule_defs(conn, SMART, [(s.album, s) for s in cfg.smart_albums])


def prepare(conn: Connection) -> None:
    """Create the tables (also while the feature is off: autotag.derived reads them) and drop the
    ``sql:`` views an earlier config made, whichever entries the config now has."""
    for name, columns in TABLES.items():
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    stale = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'smart\\_album\\_sql\\_%' ESCAPE '\\'"
    ).scalars()
    for name in list(stale):
        conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')


def views(cfg: AutotagConfig) -> dict[str, str]:
    return {
        **match_views(SMART, cfg.smart_albums),
        # album_wants exists while folder albums (or tag-album rules, checked with the config) are on
        "smart_album_targets": SMART_ALBUM_TARGETS.format(shared=SHARED if cfg.folder_albums.enabled else ""),
        "smart_album_members": SMART_ALBUM_MEMBERS,
        "smart_albums_problems": SMART_ALBUMS_PROBLEMS,
        "smart_albums_plan": SMART_ALBUMS_PLAN,
    }
