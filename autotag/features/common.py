"""What the features share: the settings table, feature-owned marker tags, and albums named by name.

User values never go into the SQL text: they are rows of ``feature_settings`` (and of each feature's
own tables), read by the views through ``setting()`` subqueries whose text is made of constants only.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

from autotag.rules import in_scope
from autotag.zones import offset_kept_sql

SETTINGS_TABLE = "feature_settings"

FEATURE_TABLES: dict[str, str] = {
    SETTINGS_TABLE: "feature TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (feature, key)",
    # dates: what names and folders say, read once per asset (only new or renamed assets are parsed
    # again), and the decisions of the policy, written at each classify (autotag/features/dates.py)
    "date_found": "asset_id TEXT NOT NULL, slot TEXT NOT NULL, family TEXT NOT NULL, value TEXT NOT NULL, "
    "precision TEXT NOT NULL, instant INTEGER NOT NULL, PRIMARY KEY (asset_id, slot)",
    "date_found_scan": "asset_id TEXT PRIMARY KEY, sig TEXT NOT NULL",
    "date_eval": "asset_id TEXT PRIMARY KEY, sig TEXT NOT NULL",
    "date_decisions": "asset_id TEXT PRIMARY KEY, rule TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, "
    "old_local TEXT NOT NULL, old_iso TEXT NOT NULL, old_time_zone TEXT, new_local TEXT NOT NULL, "
    "new_iso TEXT NOT NULL, time_zone TEXT, old_credible INTEGER NOT NULL, payload TEXT NOT NULL, "
    "before TEXT NOT NULL, reason TEXT NOT NULL",
    # dates: the assets whose own name date a duplicate's date contradicts (nothing decided; review marker)
    "date_reviews": "asset_id TEXT PRIMARY KEY, reason TEXT NOT NULL",
    # dates and album dates: the dates the tool set, while Immich's timeline date has not followed
    "date_pushed": "asset_id TEXT PRIMARY KEY, iso TEXT NOT NULL",
    # folder albums and tag-album rules
    "folder_album_rules": "position INTEGER PRIMARY KEY, path_regex TEXT NOT NULL, template TEXT NOT NULL, "
    "external_only INTEGER NOT NULL",
    "tag_album_rules": "position INTEGER PRIMARY KEY, tag_value TEXT NOT NULL, album TEXT NOT NULL, "
    "to_album INTEGER NOT NULL, to_tag INTEGER NOT NULL",
}


# Tables of earlier versions, dropped at install.
LEGACY_TABLES = ("date_patterns", "date_ignored_days", "date_scan", "date_name_candidates")


# An asset's wall-clock time as the date features read it. Immich moves ``localDateTime`` only after
# its jobs (seconds, or an hour behind a big push), and a sync in between reads the old one; so where
# the mirror's EXIF date is the instant the tool last sent for that asset (``date_pushed``), and the
# server's zone has that offset (it keeps a label such as ``UTC+2``, not the name sent: autotag/zones.py),
# the sent wall clock holds. A server that kept the instant at another offset is read as it is.
def local_of(asset: str, pushed: str) -> str:
    """The wall clock of ``asset`` (an ``assets`` alias), given ``pushed``, its ``date_pushed`` row
    (LEFT JOINed by the caller: joining a view that holds the LEFT JOIN made SQLite rescan it per row)."""
    return (
        f"CASE WHEN {pushed}.iso IS NOT NULL AND datetime({pushed}.iso) = datetime({asset}.date_time_original) "
        f"AND {offset_kept_sql(f'{asset}.time_zone', f'{pushed}.iso')} "
        f"THEN substr({pushed}.iso, 1, 19) "
        f"ELSE replace(substr(coalesce({asset}.local_date_time, {asset}.date_time_original), 1, 19), ' ', 'T') END"
    )


# Dates the tool set whose instant Immich kept under another offset than sent (a label such as UTC+0
# where +02:00 went out): read as Immich has them (local_of), never sent again, and said once.
OFFSET_CHANGED = f"""
SELECT 'dates' AS feature,
       'Immich keeps ' || count(*) || ' date(s) autotag set at another offset than it sent (e.g. '
           || min(coalesce(a.original_file_name, a.id) || ': sent ' || substr(p.iso, 20) || ', kept '
                  || a.time_zone) || '): they are read as Immich has them' AS problem
FROM date_pushed AS p JOIN assets AS a ON a.id = p.asset_id
WHERE datetime(p.iso) = datetime(a.date_time_original) AND NOT {offset_kept_sql("a.time_zone", "p.iso")}
HAVING count(*) > 0
"""


ASSET_LOCAL_DATES = f"""
SELECT a.id AS asset_id, {local_of("a", "p")} AS local
FROM assets AS a LEFT JOIN date_pushed AS p ON p.asset_id = a.id
WHERE coalesce(a.local_date_time, a.date_time_original) IS NOT NULL
"""


def refresh_pushed_dates(conn: Connection) -> None:
    """``date_pushed``: per asset, the date of the last ``set_date`` the server confirmed, from the outbox.

    A table (rebuilt on every install, from the few set_date rows) rather than an aggregate inside the
    view: SQLite re-evaluated that aggregate per row of the plan (3k assets: 0.4 s -> 3 s)."""
    conn.exec_driver_sql("DELETE FROM date_pushed")
    # SQLite takes the bare column of a max() aggregate from the row holding the maximum.
    conn.exec_driver_sql(
        "INSERT INTO date_pushed (asset_id, iso) "
        "SELECT asset_id, iso FROM (SELECT asset_id, json_extract(payload, '$.dateTimeOriginal') AS iso, max(id) "
        "FROM outbox WHERE kind = 'set_date' AND state = 'sent' AND asset_id IS NOT NULL GROUP BY asset_id) "
        "WHERE iso IS NOT NULL"
    )


def write_settings(conn: Connection, feature: str, values: Mapping[str, object]) -> None:
    conn.execute(
        text(f"INSERT OR REPLACE INTO {SETTINGS_TABLE} (feature, key, value) VALUES (:f, :k, :v)"),
        [{"f": feature, "k": k, "v": None if v is None else str(v)} for k, v in values.items()],
    )


def setting(feature: str, key: str) -> str:
    """A scalar subquery reading one setting (``feature`` and ``key`` are code constants)."""
    return f"(SELECT value FROM {SETTINGS_TABLE} WHERE feature = '{feature}' AND key = '{key}')"


def marker_tag_plan(feature: str, desired: str, removed_reason: str) -> str:
    """Add the feature's tag (setting ``tag``) where ``desired`` (asset_id, reason) wants it, and take it
    off in-scope assets that no longer need it. ``desired`` must have one row per asset."""
    tag = setting(feature, "tag")
    return f"""
SELECT 'tag_add' AS kind, {tag} AS target, d.asset_id AS asset_id, NULL AS payload, NULL AS before,
       d.reason AS reason, 'tag_add:' || {tag} || ':' || d.asset_id AS idem_key
FROM {desired} AS d
WHERE NOT EXISTS (SELECT 1 FROM asset_tags AS at JOIN tags AS t ON t.id = at.tag_id
                  WHERE at.asset_id = d.asset_id AND t.value = {tag})
UNION ALL
SELECT 'tag_remove', t.value, at.asset_id, NULL, NULL, '{removed_reason}',
       'tag_remove:' || t.value || ':' || at.asset_id
FROM tags AS t JOIN asset_tags AS at ON at.tag_id = t.id
WHERE t.value = {tag}
  AND {in_scope("at.asset_id")}
  AND at.asset_id NOT IN (SELECT asset_id FROM {desired})
"""


# Albums wanted by name (folder albums, tag-album rules): (asset_id, album_name, reason) rows in
# `album_wants`, a union the features fill. An owned album of that name is used; none: the target is
# `name:<album name>` and the pusher creates it; two or more: nothing is planned, it is a problem.
OWNED_ALBUM_NAMES = """
SELECT name, count(*) AS n, min(id) AS album_id FROM albums WHERE is_owned = 1 GROUP BY name
"""

ALBUM_NAME_TARGETS = f"""
SELECT w.asset_id AS asset_id, w.album_name AS album_name, w.reason AS reason, w.feature AS feature,
       CASE WHEN o.n IS NULL THEN 'name:' || w.album_name ELSE o.album_id END AS target
FROM album_wants AS w LEFT JOIN owned_album_names AS o ON o.name = w.album_name
WHERE {in_scope("w.asset_id")}
  AND (o.n IS NULL
       OR (o.n = 1 AND NOT EXISTS (SELECT 1 FROM album_assets AS aa
                                   WHERE aa.album_id = o.album_id AND aa.asset_id = w.asset_id)))
"""

ALBUM_NAME_PROBLEMS = """
SELECT DISTINCT w.feature AS feature,
       'several albums are named ''' || w.album_name || ''': add the assets by hand or rename one' AS problem
FROM album_wants AS w JOIN owned_album_names AS o ON o.name = w.album_name
WHERE o.n > 1
"""

ALBUM_ADD_PLAN = """
SELECT 'album_add' AS kind, t.target AS target, t.asset_id AS asset_id, NULL AS payload, NULL AS before,
       t.reason AS reason, 'album_add:' || t.target || ':' || t.asset_id AS idem_key, t.feature AS feature
FROM album_name_targets AS t
"""


def album_name_views(wants: list[str]) -> dict[str, str]:
    """The by-name views over the union of ``wants`` (SELECTs of feature, asset_id, album_name, reason)."""
    return {
        "album_wants": "\nUNION ALL\n".join(wants),
        "owned_album_names": OWNED_ALBUM_NAMES,
        "album_name_targets": ALBUM_NAME_TARGETS,
        "feature_problems": ALBUM_NAME_PROBLEMS,
    }
