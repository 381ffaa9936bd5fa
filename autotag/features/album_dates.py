"""Album-date consistency: an asset far from the date its album's name starts with gets a marker tag.

An album counts when ``album_dates.album_name_regex`` (named groups Y, m and optionally d) matches its
name: ``2019-06-01 Beach`` is the day 2019-06-01, ``2019-06 Italy`` the whole of June 2019. An in-scope
asset of such an album whose day (``localDateTime``) is more than ``album_dates.max_days`` days before
the album's first day or after its last gets ``album_dates.tag``; the tag comes off once the date or
the album is fixed.
"""

from __future__ import annotations

from sqlalchemy import Connection

from autotag.config import AutotagConfig
from autotag.features.common import ASSET_LOCAL_DATES, local_of, marker_tag_plan, setting, write_settings
from autotag.rules import in_scope

FEATURE = "album_dates"

# The dates the names start with were read in Python when autotag last wrote the mirror (autotag.derived).
ALBUM_DATE_ALBUMS = """
SELECT x.album_id AS album_id, x.name AS name, x.first_day AS first_day,
       CASE WHEN length(x.value) = 7 THEN date(x.first_day, '+1 month', '-1 day') ELSE x.first_day END
           AS last_day
FROM (SELECT al.id AS album_id, al.name AS name, v.value AS value,
             CASE WHEN length(v.value) = 7 THEN v.value || '-01' ELSE substr(v.value, 1, 10) END AS first_day
      FROM albums AS al JOIN derived_album_dates AS v ON v.key = al.id) AS x
"""

# Each dated album's window computed once, not per member. The album links are read in asset order
# (CROSS JOIN keeps them the outer loop), so the assets are read in key order: at 1M assets reading
# them album by album cost more than reading the links of undated albums too.
ALBUM_DATE_MISMATCHES_TEMPLATE = f"""
WITH d AS MATERIALIZED (
    SELECT album_id, name,
           date(first_day, '-' || {setting(FEATURE, "max_days")} || ' days') AS lo,
           date(last_day, '+' || {setting(FEATURE, "max_days")} || ' days') AS hi
    FROM album_date_albums
)
SELECT m.asset_id AS asset_id,
       'taken ' || m.day || ', more than ' || {setting(FEATURE, "max_days")} || ' days from '
           || group_concat('album "' || m.name || '"', ', ') AS reason
FROM (SELECT aa.asset_id AS asset_id, d.name AS name,
             substr({{day}}, 1, 10) AS day,
             d.lo AS lo, d.hi AS hi
      FROM album_assets AS aa
      CROSS JOIN d ON d.album_id = aa.album_id
      JOIN assets AS a ON a.id = aa.asset_id
      LEFT JOIN date_pushed AS p ON p.asset_id = a.id{{planned_join}}
      WHERE {in_scope("aa.asset_id")}
      ORDER BY aa.asset_id, d.name) AS m
WHERE m.day < m.lo OR m.day > m.hi
GROUP BY m.asset_id
"""


def write(conn: Connection, cfg: AutotagConfig) -> None:
    a = cfg.album_dates
    write_settings(conn, FEATURE, {"tag": a.tag, "max_days": a.max_days, "album_name_regex": a.album_name_regex})


def views(cfg: AutotagConfig) -> dict[str, str]:
    # Judge assets by the date they are about to get (set_date is not rehearsed by autotag.closure,
    # which takes care of the albums they are about to join).
    if cfg.dates.enabled:
        mismatches = ALBUM_DATE_MISMATCHES_TEMPLATE.format(
            day=f"coalesce(f.new_local, {local_of('a', 'p')})",
            planned_join="\n      LEFT JOIN date_fixes AS f ON f.asset_id = aa.asset_id",
        )
    else:
        mismatches = ALBUM_DATE_MISMATCHES_TEMPLATE.format(
            day=local_of("a", "p"), planned_join=""
        )
    return {
        "asset_local_dates": ASSET_LOCAL_DATES,  # the same view as the dates feature's, if that is on
        "album_date_albums": ALBUM_DATE_ALBUMS,
        "album_date_mismatches": mismatches,
        "album_dates_plan": marker_tag_plan(FEATURE, "album_date_mismatches", "date now matches its albums"),
    }
