"""Date repair: a better date for an asset, read from its file name, its folder or its duplicates.

Candidates (all wall-clock times, like Immich's ``localDateTime``):

- ``name`` / ``path``: the ``dates.patterns`` regexes (named groups Y m d, optionally H M S) run over
  the file name or the whole original path. Parsed once per asset and kept in ``date_name_candidates``
  (``date_scan`` remembers the name and path each asset had): a rerun parses only new or renamed assets.
- ``duplicate``: the current date of every other member of the asset's duplicate group, and
  ``duplicate_name``: their name and path candidates (so a group settles in one run, not one
  member per run).

Policy (docs/rules.md, "Date repair"): a candidate is *credible* when it is on or after
``dates.min_date``, not in the future and not one of ``dates.ignore_dates`` (camera-reset defaults).
The winner is the earliest credible candidate (by day; on one day a candidate with a time beats a
day-only one). It replaces the current date when the current date is not credible, or when it is
earlier: a candidate with a time by more than ``dates.min_difference_hours`` (so time-zone confusion
never moves a date), a day-only candidate when the current date is on a later day. A credible date is
never moved later. Nothing is planned once the mirror's ``date_time_original`` is the planned instant
(Immich updates the timeline date asynchronously).

Time zone: a date from a duplicate keeps that member's zone; otherwise the asset's own zone, else
``dates.default_time_zone``, else UTC. ``dateTimeOriginal`` always carries the offset; ``timeZone`` is
sent only for an IANA name (Immich's ``UTC+2`` labels are implied by the offset).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig
from autotag.features.common import ASSET_LOCAL_DATES, local_of, setting, write_settings
from autotag.zones import zoned_iso_sql

FEATURE = "dates"

_SIG = "coalesce(a.original_file_name, '') || '|' || coalesce(a.original_path, '')"

_SCAN = (
    # forget assets that are gone or were renamed or moved
    f"DELETE FROM date_scan WHERE NOT EXISTS (SELECT 1 FROM assets AS a WHERE a.id = date_scan.asset_id "
    f"AND {_SIG} = date_scan.sig)",
    "DELETE FROM date_name_candidates WHERE asset_id NOT IN (SELECT asset_id FROM date_scan)",
    "INSERT INTO date_name_candidates (asset_id, position, source, value) "
    "SELECT x.id, x.position, x.source, x.value FROM ("
    "  SELECT a.id AS id, p.position AS position, p.source AS source, "
    "         regexp_date(p.regex, CASE p.source WHEN 'name' THEN a.original_file_name "
    "                                            ELSE a.original_path END) AS value "
    "  FROM assets AS a CROSS JOIN date_patterns AS p "
    "  WHERE a.id NOT IN (SELECT asset_id FROM date_scan)) AS x "
    "WHERE x.value IS NOT NULL",
    f"INSERT INTO date_scan (asset_id, sig) SELECT a.id, {_SIG} FROM assets AS a "
    "WHERE a.id NOT IN (SELECT asset_id FROM date_scan)",
)


def write(conn: Connection, cfg: AutotagConfig) -> None:
    d = cfg.dates
    write_settings(
        conn,
        FEATURE,
        {
            "min_date": d.min_date,
            "min_difference_hours": d.min_difference_hours,
            "date_only_time": d.date_only_time,
            "default_time_zone": d.default_time_zone,
            "from_duplicates": int(d.from_duplicates),
        },
    )
    conn.exec_driver_sql("DELETE FROM date_ignored_days")
    if d.ignore_dates:
        conn.execute(
            text("INSERT OR IGNORE INTO date_ignored_days (day) VALUES (:d)"), [{"d": x} for x in d.ignore_dates]
        )
    wanted = [(i, p.source, p.regex) for i, p in enumerate(d.patterns)]
    current = [tuple(r) for r in conn.exec_driver_sql("SELECT position, source, regex FROM date_patterns ORDER BY 1")]
    if current != wanted:  # other patterns: every asset is parsed again
        conn.exec_driver_sql("DELETE FROM date_patterns")
        conn.exec_driver_sql("DELETE FROM date_scan")
        conn.exec_driver_sql("DELETE FROM date_name_candidates")
        if wanted:
            conn.execute(
                text("INSERT INTO date_patterns (position, source, regex) VALUES (:p, :s, :r)"),
                [{"p": p, "s": s, "r": r} for p, s, r in wanted],
            )
    for statement in _SCAN:
        conn.exec_driver_sql(statement)


def _credible(expr: str) -> str:
    day = f"substr({expr}, 1, 10)"
    return (
        f"({day} >= {setting(FEATURE, 'min_date')} AND {day} <= date('now', '+1 day') "
        f"AND {day} NOT IN (SELECT day FROM date_ignored_days))"
    )


DATE_CURRENT = f"""
SELECT a.id AS asset_id, {local_of("a", "p")} AS local, a.date_time_original AS date_time_original,
       a.time_zone AS time_zone
FROM assets AS a LEFT JOIN date_pushed AS p ON p.asset_id = a.id
WHERE a.id IN (SELECT asset_id FROM scope_assets)
  AND coalesce(a.local_date_time, a.date_time_original) IS NOT NULL
"""

# Partial dates (YYYY-MM) are no candidates.
DATE_CANDIDATES = f"""
SELECT c.asset_id AS asset_id, c.source AS source, c.value AS value, length(c.value) > 10 AS has_time,
       NULL AS zone, CASE c.source WHEN 'name' THEN 'file name' ELSE 'folder' END AS detail
FROM date_name_candidates AS c
WHERE length(c.value) >= 10
UNION ALL
SELECT m.id, 'duplicate', {local_of("o", "op")}, 1, o.time_zone,
       'duplicate ' || coalesce(o.original_file_name, o.id)
FROM assets AS m JOIN assets AS o ON o.duplicate_id = m.duplicate_id AND o.id <> m.id
LEFT JOIN date_pushed AS op ON op.asset_id = o.id
WHERE m.duplicate_id IS NOT NULL AND o.is_trashed = 0 AND {setting(FEATURE, "from_duplicates")} = '1'
  AND coalesce(o.local_date_time, o.date_time_original) IS NOT NULL
UNION ALL
SELECT m.id, 'duplicate_name', c.value, length(c.value) > 10, NULL,
       CASE c.source WHEN 'name' THEN 'file name' ELSE 'folder' END || ' of the duplicate '
           || coalesce(o.original_file_name, o.id)
FROM assets AS m JOIN assets AS o ON o.duplicate_id = m.duplicate_id AND o.id <> m.id
JOIN date_name_candidates AS c ON c.asset_id = o.id
WHERE m.duplicate_id IS NOT NULL AND o.is_trashed = 0 AND {setting(FEATURE, "from_duplicates")} = '1'
  AND length(c.value) >= 10
"""

DATE_WINNERS = f"""
SELECT asset_id, source, value, has_time, zone, detail FROM (
    SELECT c.*, row_number() OVER (
        PARTITION BY c.asset_id ORDER BY substr(c.value, 1, 10), c.has_time DESC, c.value, c.source
    ) AS rn
    FROM date_candidates AS c
    WHERE c.asset_id IN (SELECT asset_id FROM scope_assets) AND {_credible("c.value")}
) WHERE rn = 1
"""

DATE_FIXES = f"""
SELECT f.*, {zoned_iso_sql("f.new_local", "f.zone")} AS new_iso FROM (
    SELECT w.asset_id AS asset_id, c.local AS old_local, c.date_time_original AS old_date_time_original,
           c.time_zone AS old_time_zone, w.source AS source, w.detail AS detail,
           {_credible("c.local")} AS old_credible,
           CASE WHEN w.has_time THEN w.value ELSE w.value || 'T' || {setting(FEATURE, "date_only_time")} END
               AS new_local,
           CASE WHEN w.source = 'duplicate' THEN w.zone
                ELSE coalesce(c.time_zone, {setting(FEATURE, "default_time_zone")}) END AS zone
    FROM date_winners AS w JOIN date_current AS c ON c.asset_id = w.asset_id
    WHERE NOT {_credible("c.local")}
       OR (w.has_time AND (julianday(c.local) - julianday(w.value)) * 24
                          > CAST({setting(FEATURE, "min_difference_hours")} AS REAL))
       OR (NOT w.has_time AND substr(c.local, 1, 10) > w.value)
) AS f
WHERE f.old_date_time_original IS NULL
   OR datetime(f.old_date_time_original) IS NOT datetime({zoned_iso_sql("f.new_local", "f.zone")})
"""


_OLD_ISO = zoned_iso_sql("f.old_local", "f.old_time_zone")


def _iana(zone: str) -> str:
    return f"({zone} IS NOT NULL AND {zone} <> '' AND {zone} NOT GLOB 'UTC[+-]*')"


DATES_PLAN = f"""
SELECT 'set_date' AS kind, 'date' AS target, f.asset_id AS asset_id,
       CASE WHEN {_iana("f.zone")} THEN json_object('dateTimeOriginal', f.new_iso, 'timeZone', f.zone)
            ELSE json_object('dateTimeOriginal', f.new_iso) END AS payload,
       CASE WHEN {_iana("f.old_time_zone")}
            THEN json_object('dateTimeOriginal', {_OLD_ISO}, 'timeZone', f.old_time_zone)
            ELSE json_object('dateTimeOriginal', {_OLD_ISO}) END AS before,
       'date ' || replace(f.old_local, 'T', ' ') || ' -> ' || replace(f.new_local, 'T', ' ')
           || ' (' || substr(f.new_iso, 20) || ') from the ' || f.detail
           || CASE WHEN f.old_credible THEN ', earlier' ELSE ', the current date is not credible' END AS reason,
       'set_date:date:' || f.asset_id || ':' || f.new_iso AS idem_key
FROM date_fixes AS f
"""


def views(cfg: AutotagConfig) -> dict[str, str]:
    return {
        "asset_local_dates": ASSET_LOCAL_DATES,
        "date_current": DATE_CURRENT,
        "date_candidates": DATE_CANDIDATES,
        "date_winners": DATE_WINNERS,
        "date_fixes": DATE_FIXES,
        "dates_plan": DATES_PLAN,
    }
