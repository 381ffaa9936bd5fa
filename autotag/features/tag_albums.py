"""Tag-album rules: "assets with tag X belong in album Y" and "assets in album Y get tag X".

Copy semantics only: the rules add (an album membership, a tag), never remove. ``to_album`` counts the
tag's descendants too (``people`` covers ``people/alice``) and adds to the owned album named Y,
created when missing (``album_add`` with target ``name:Y``); ``to_tag`` reads every album named Y
and adds the tag value X (created when missing).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig
from autotag.rules import in_scope

FEATURE = "tag_albums"

# From the rules to their tags to those tags' assets (CROSS JOIN fixes SQLite's loop order): left to
# itself, SQLite read every asset's tags and matched each against the rules.
TAG_ALBUM_WANTS = """
SELECT DISTINCT 'tag_albums' AS feature, at.asset_id AS asset_id, r.album AS album_name,
       'has tag ' || r.tag_value AS reason
FROM tag_album_rules AS r
CROSS JOIN tags AS t ON t.value = r.tag_value OR substr(t.value, 1, length(r.tag_value) + 1) = r.tag_value || '/'
CROSS JOIN asset_tags AS at ON at.tag_id = t.id
WHERE r.to_album = 1
"""

TAG_ALBUMS_PLAN = f"""
SELECT DISTINCT 'tag_add' AS kind, r.tag_value AS target, aa.asset_id AS asset_id, NULL AS payload,
       NULL AS before, 'in album "' || r.album || '"' AS reason,
       'tag_add:' || r.tag_value || ':' || aa.asset_id AS idem_key
FROM tag_album_rules AS r
CROSS JOIN albums AS al ON al.name = r.album
CROSS JOIN album_assets AS aa ON aa.album_id = al.id
WHERE r.to_tag = 1
  AND {in_scope("aa.asset_id")}
  AND NOT EXISTS (SELECT 1 FROM asset_tags AS at JOIN tags AS t ON t.id = at.tag_id
                  WHERE at.asset_id = aa.asset_id AND t.value = r.tag_value)
"""


def write(conn: Connection, cfg: AutotagConfig) -> None:
    conn.exec_driver_sql("DELETE FROM tag_album_rules")
    rules = cfg.tag_albums.rules
    if rules:
        conn.execute(
            text(
                "INSERT INTO tag_album_rules (position, tag_value, album, to_album, to_tag) "
                "VALUES (:p, :t, :a, :to_album, :to_tag)"
            ),
            [
                {
                    "p": i,
                    "t": r.tag,
                    "a": r.album,
                    "to_album": int(r.direction in ("to_album", "both")),
                    "to_tag": int(r.direction in ("to_tag", "both")),
                }
                for i, r in enumerate(rules)
            ],
        )


def album_wants(cfg: AutotagConfig) -> list[str]:
    return [TAG_ALBUM_WANTS]


def views(cfg: AutotagConfig) -> dict[str, str]:
    return {"tag_albums_plan": TAG_ALBUMS_PLAN}
