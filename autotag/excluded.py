"""Hands off what the user excluded: an excluded album or tag is never the target of any change.

An ``exclude:`` link names assets (``scope_exclude``, which keeps them out of ``scope_assets``), and an
album link (or a bare album id, or an album's share link) or a tag link also names the album or the
tag itself: ``scope_exclude_albums`` and ``scope_exclude_tags`` (by value: a tag and every tag below
it). ``plan`` keeps no row that targets one of them, whichever rule, marker or feature asked for it:
no asset is added to or removed from an excluded album, no excluded tag is added or removed. An
album wanted by name (``name:<album name>``, created by the pusher when missing) is blocked when an
excluded album has that name, so no look-alike of the album is made either. (A person is never a
target: excluding one excludes their assets.)

The filter on ``plan`` is the guarantee. ``excluded_targets`` says what it blocks, once per rule, for
``classify`` and ``run`` to show: ``tag_albums.rules[0] (places/beach -> 2019-06-01 Beach) targets
excluded album "2019-06-01 Beach": skipped``.
"""

from __future__ import annotations

from sqlalchemy import Connection

from autotag.config import AutotagConfig

FEATURE = "exclude"  # the `feature` column of what this module reports


def _tag_excluded(expr: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM scope_exclude_tags AS x "
        f"WHERE {expr} = x.tag_value OR substr({expr}, 1, length(x.tag_value) + 1) = x.tag_value || '/')"
    )


def _album_named_excluded(expr: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM scope_exclude_albums AS x JOIN albums AS al ON al.id = x.album_id "
        f"WHERE al.name = {expr})"
    )


# A condition on a plan row ``p``: true when it may be queued.
NOT_EXCLUDED = f"""NOT (
    (p.kind IN ('tag_add', 'tag_remove') AND {_tag_excluded("p.target")})
    OR (p.kind IN ('album_add', 'album_remove')
        AND (p.target IN (SELECT album_id FROM scope_exclude_albums)
             OR p.target IN (SELECT 'name:' || al.name FROM scope_exclude_albums AS x
                             JOIN albums AS al ON al.id = x.album_id))))"""


_HEAD = "SELECT p.* FROM (\n"
_TAIL = f"\n) AS p\nWHERE {NOT_EXCLUDED}"


def filtered(plan_sql: str) -> str:
    """``plan_sql`` (a SELECT with the plan's columns) without the rows that target what is excluded."""
    return f"{_HEAD}{plan_sql}{_TAIL}"


def unfiltered(conn: Connection, view_sql: str) -> str | None:
    """``view_sql`` (made by ``filtered``) without its filter, when nothing is excluded on ``conn`` now,
    so the filter could not drop a row (the scope tables change only when links are applied, never
    during a classify); None otherwise. A classify then skips a probe per plan row (autotag.shadow)."""
    if not (view_sql.startswith(_HEAD) and view_sql.endswith(_TAIL)):
        return None
    for table in ("scope_exclude_albums", "scope_exclude_tags"):
        if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            return None
    return view_sql[len(_HEAD) : -len(_TAIL)]


MARKERS = f"""
SELECT '{FEATURE}' AS feature,
       'markers.' || m.status || ' targets excluded tag "' || m.tag_value || '": skipped' AS problem
FROM rule_markers AS m WHERE {_tag_excluded("m.tag_value")}
"""

FEATURE_TAGS = f"""
SELECT '{FEATURE}', s.feature || CASE s.feature WHEN 'duplicates' THEN '.conflict_tag' ELSE '.tag' END
       || ' targets excluded tag "' || s.value || '": skipped'
FROM feature_settings AS s
WHERE s.key = 'tag' AND s.feature IN ('duplicates', 'album_dates') AND {_tag_excluded("s.value")}
"""

_TAG_ALBUM_RULE = "'tag_albums.rules[' || r.position || '] (' || r.tag_value || ' -> ' || r.album || ')'"

TAG_ALBUM_RULES = f"""
SELECT '{FEATURE}', {_TAG_ALBUM_RULE} || ' targets excluded tag "' || r.tag_value || '": skipped'
FROM tag_album_rules AS r WHERE r.to_tag = 1 AND {_tag_excluded("r.tag_value")}
UNION ALL
SELECT '{FEATURE}', {_TAG_ALBUM_RULE} || ' targets excluded album "' || r.album || '": skipped'
FROM tag_album_rules AS r WHERE r.to_album = 1 AND {_album_named_excluded("r.album")}
"""

# Folder albums are named per asset (the template): one line per excluded album a rule would fill.
FOLDER_ALBUMS = f"""
SELECT DISTINCT '{FEATURE}', 'folder_albums targets excluded album "' || w.album_name || '": skipped'
FROM album_wants AS w
WHERE w.feature = 'folder_albums' AND {_album_named_excluded("w.album_name")}
"""


SMART_ALBUMS = f"""
SELECT '{FEATURE}', 'smart_albums[' || n.position || '] (' || n.rule || ') targets excluded album "' || n.rule
       || '": skipped'
FROM smart_album_names AS n WHERE {_album_named_excluded("n.rule")}
"""


def excluded_targets_sql(cfg: AutotagConfig) -> str:
    """The ``excluded_targets`` view (``feature, problem``) for the rules and features ``cfg`` enables."""
    parts = [MARKERS]
    if cfg.duplicates.enabled or cfg.album_dates.enabled:
        parts.append(FEATURE_TAGS)
    if cfg.tag_albums.enabled:
        parts.append(TAG_ALBUM_RULES)
    if cfg.folder_albums.enabled:
        parts.append(FOLDER_ALBUMS)
    if cfg.smart_albums:
        parts.append(SMART_ALBUMS)
    return "\nUNION ALL\n".join(parts)
