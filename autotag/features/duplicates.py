"""Duplicate propagation: members of a duplicate group are classified alike, or flagged.

What classifies a member is a *key*: a classifying album it is in (``album``), a classifying tag it
carries (``tag``), or a matching ``sql:`` rule (``rule``, which cannot be copied). Per group of in-scope
members (``assets.duplicate_id``):

- no key at all: nothing (an unclassified group stays unclassified);
- exactly one key, an album the user owns or a tag: the members without it get it (``album_add`` /
  ``tag_add`` of the tag value);
- two keys or more (different albums, tags or rules): every member gets ``duplicates.conflict_tag``,
  which is taken off again once the group agrees.
"""

from __future__ import annotations

from sqlalchemy import Connection

from autotag.config import AutotagConfig
from autotag.features.common import marker_tag_plan, write_settings
from autotag.rules import in_scope

FEATURE = "duplicates"

# ``>= ''`` (every text id) rather than IS NOT NULL: SQLite reads that range from ix_assets_duplicate_id
# instead of scanning every asset.
DUP_MEMBERS = f"""
SELECT a.id AS asset_id, a.duplicate_id AS duplicate_id
FROM assets AS a
WHERE a.duplicate_id >= '' AND {in_scope("a.id")}
"""

# Driven by the members (CROSS JOIN makes them SQLite's outer loop): they are a few of the library, the
# album and tag links of every asset are not.
DUP_KEYS = """
SELECT m.duplicate_id AS duplicate_id, m.asset_id AS asset_id, 'album' AS key_kind, ca.album_id AS key_value
FROM dup_members AS m
CROSS JOIN album_assets AS aa ON aa.asset_id = m.asset_id
JOIN classifying_albums AS ca ON ca.album_id = aa.album_id
UNION
SELECT m.duplicate_id, m.asset_id, 'tag', t.value
FROM dup_members AS m
CROSS JOIN asset_tags AS at ON at.asset_id = m.asset_id
JOIN classifying_tags AS ct ON ct.tag_id = at.tag_id
JOIN tags AS t ON t.id = at.tag_id
"""

# Added per `sql:` rule (view names come from rule positions, not from user text).
DUP_SQL_KEYS = """
UNION
SELECT m.duplicate_id, m.asset_id, 'rule', r.rule
FROM dup_members AS m
JOIN {view} AS s ON s.asset_id = m.asset_id
JOIN rule_names AS r ON r.position = {position:d}
WHERE NOT EXISTS (SELECT 1 FROM asset_tags AS at2 JOIN classifying_tags AS ct2 ON ct2.tag_id = at2.tag_id
                  WHERE at2.asset_id = m.asset_id AND ct2.rule = r.rule)
"""

# One row per group that has at least one key; `keys` is what the reasons show.
DUP_GROUPS = """
SELECT k.duplicate_id AS duplicate_id,
       count(*) AS n_keys,
       min(k.key_kind) AS key_kind,
       min(k.key_value) AS key_value,
       group_concat(k.label, ', ') AS keys
FROM (SELECT DISTINCT d.duplicate_id, d.key_kind, d.key_value,
             CASE d.key_kind WHEN 'album' THEN 'album "' || coalesce(al.name, d.key_value) || '"'
                             WHEN 'tag' THEN 'tag ' || d.key_value
                             ELSE 'rule ' || d.key_value END AS label
      FROM dup_keys AS d LEFT JOIN albums AS al ON d.key_kind = 'album' AND al.id = d.key_value
      ORDER BY d.duplicate_id, label) AS k
GROUP BY k.duplicate_id
"""

DUP_PROPAGATE = """
SELECT CASE g.key_kind WHEN 'album' THEN 'album_add' ELSE 'tag_add' END AS kind,
       g.key_value AS target,
       m.asset_id AS asset_id,
       NULL AS payload,
       NULL AS before,
       'duplicate of a member in ' || g.keys AS reason,
       CASE g.key_kind WHEN 'album' THEN 'album_add:' ELSE 'tag_add:' END || g.key_value || ':' || m.asset_id
           AS idem_key
FROM dup_groups AS g
JOIN dup_members AS m ON m.duplicate_id = g.duplicate_id
WHERE g.n_keys = 1
  AND (g.key_kind = 'tag' OR (g.key_kind = 'album' AND g.key_value IN (SELECT id FROM albums WHERE is_owned = 1)))
  AND NOT EXISTS (SELECT 1 FROM dup_keys AS k WHERE k.asset_id = m.asset_id)
"""

DUP_CONFLICTS = """
SELECT m.asset_id AS asset_id, 'duplicate group classified differently: ' || g.keys AS reason
FROM dup_groups AS g JOIN dup_members AS m ON m.duplicate_id = g.duplicate_id
WHERE g.n_keys > 1
"""


def write(conn: Connection, cfg: AutotagConfig) -> None:
    write_settings(conn, FEATURE, {"tag": cfg.duplicates.conflict_tag})


def views(cfg: AutotagConfig) -> dict[str, str]:
    plan = marker_tag_plan(FEATURE, "dup_conflicts", "duplicate group no longer classified differently")
    return {
        "dup_members": DUP_MEMBERS,
        "dup_keys": DUP_KEYS
        + "".join(
            DUP_SQL_KEYS.format(view=f"rule_sql_{i}", position=i)
            for i, rule in enumerate(cfg.rules)
            if rule.sql is not None
        ),
        "dup_groups": DUP_GROUPS,
        "dup_conflicts": DUP_CONFLICTS,
        "duplicates_plan": f"{DUP_PROPAGATE}\nUNION ALL\n{plan}",
    }
