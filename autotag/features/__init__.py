"""The organiser features: duplicates, date repair, album dates, folder albums, tag-album rules, smart albums.

Each feature is a module that owns a few small tables (its config, written with bound parameters) and
SQL views ending in one ``<feature>_plan`` view with the plan's seven columns. Here they are joined
into a single ``feature_plan`` view, one row per ``idem_key`` (two features asking for the same effect,
say the same album for the same asset, become one mutation with both reasons), which joins ``plan``
through one ``PlanSource``. A feature that is switched off installs nothing and plans nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig
from autotag.features import album_dates, dates, duplicates, folders, smart_albums, tag_albums
from autotag.features.common import (
    ALBUM_ADD_PLAN,
    FEATURE_TABLES,
    LEGACY_TABLES,
    OFFSET_CHANGED,
    SETTINGS_TABLE,
    album_name_views,
    refresh_pushed_dates,
    write_settings,
)
from autotag.plan import PLAN_COLUMNS, SOURCE_COLUMN, PlanSource
from immich_mirror.errors import RuleError

Writer = Callable[[Connection, AutotagConfig], None]
Views = Callable[[AutotagConfig], dict[str, str]]


def _no_wants(_cfg: AutotagConfig) -> list[str]:
    return []


# name, enabled?, views (the last one named <name>_plan, if any), albums wanted by name, table writer;
# in creation order (a view must exist before the views reading it).
Feature = tuple[str, Callable[[AutotagConfig], bool], Views, Callable[[AutotagConfig], list[str]], Writer]
FEATURES: tuple[Feature, ...] = (
    ("duplicates", lambda c: c.duplicates.enabled, duplicates.views, _no_wants, duplicates.write),
    ("dates", lambda c: c.dates.enabled, dates.views, _no_wants, dates.write),
    ("tag_albums", lambda c: c.tag_albums.enabled, tag_albums.views, tag_albums.album_wants, tag_albums.write),
    ("folder_albums", lambda c: c.folder_albums.enabled, folders.views, folders.album_wants, folders.write),
    ("smart_albums", smart_albums.enabled, smart_albums.views, _no_wants, smart_albums.write),
    # after dates: it judges assets by the dates that feature is about to give them
    ("album_dates", lambda c: c.album_dates.enabled, album_dates.views, _no_wants, album_dates.write),
)

# Every view any feature may install: dropped on each install, so switching a feature off leaves none.
ALL_VIEWS = (
    *(name for _f, _e, views, _a, _w in FEATURES for name in views(AutotagConfig())),
    *album_name_views([]),
    "albums_by_name_plan",
    "feature_changes",
    "feature_plan",
    # views of earlier versions, dropped so that no stale view is left in an older mirror
    "date_current",
    "date_candidates",
    "date_winners",
    "feature_classifies",
    "feature_suppressed",
    "feature_marker_fixes",
)

EMPTY_PLAN = "SELECT " + ", ".join(f"NULL AS {c}" for c in (*PLAN_COLUMNS, SOURCE_COLUMN)) + " WHERE 0"
NO_PROBLEMS = "SELECT NULL AS feature, NULL AS problem WHERE 0"


def check_features(cfg: AutotagConfig) -> None:
    """The tags the features manage must be nobody else's: not a marker, not matched by a rule."""
    markers = {cfg.markers.unclassified, cfg.markers.conflict, cfg.markers.review}
    owned = {"duplicates.conflict_tag": cfg.duplicates.conflict_tag, "album_dates.tag": cfg.album_dates.tag}
    for key, value in owned.items():
        if value in markers:
            raise RuleError(f"{key}: {value!r} is already a marker tag")
        for rule in cfg.rules:
            if value in rule.tags or (rule.include_descendants and any(value.startswith(t + "/") for t in rule.tags)):
                raise RuleError(f"{key}: {value!r} would be matched by the rule {rule.name!r}")
    if cfg.duplicates.conflict_tag == cfg.album_dates.tag:
        raise RuleError("duplicates.conflict_tag and album_dates.tag must be different tags")
    _check_smart_albums(cfg, owned)


def _check_smart_albums(cfg: AutotagConfig, owned: dict[str, str]) -> None:
    """A smart album owns its album's members: another feature adding to it would undo the removals
    run after run; and the tags the features set are written after the plan, so a smart album of one
    would always be a run behind."""
    for position, smart in enumerate(cfg.smart_albums):
        label = f"smart_albums[{position}] ({smart.album})"
        if cfg.tag_albums.enabled:
            for i, rule in enumerate(cfg.tag_albums.rules):
                if rule.album == smart.album and rule.direction != "to_tag":
                    raise RuleError(f"{label}: album: tag_albums.rules[{i}] fills the same album; "
                                    "a smart album holds only what its own rule matches")
        for key, value in owned.items():
            below = smart.include_descendants and any(value.startswith(t + "/") for t in smart.tags)
            if value in smart.tags or below:
                raise RuleError(f"{label}: tags: {value!r} is {key}, which autotag sets after planning")


def _prepare(conn: Connection, cfg: AutotagConfig) -> None:
    for name in reversed(ALL_VIEWS):
        conn.exec_driver_sql(f'DROP VIEW IF EXISTS "{name}"')
    for name in LEGACY_TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    for name, columns in FEATURE_TABLES.items():
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
    conn.exec_driver_sql(f"DELETE FROM {SETTINGS_TABLE}")
    if cfg.dates.enabled or cfg.album_dates.enabled:
        refresh_pushed_dates(conn)
    smart_albums.prepare(conn)
    for name, enabled, _views, _wants, write in FEATURES:
        if enabled(cfg):
            write_settings(conn, name, {"enabled": 1})  # what autotag.derived reads: which features are on
            write(conn, cfg)


def feature_sources(cfg: AutotagConfig) -> list[PlanSource]:
    """The ``PlanSource`` of the enabled features (always installed, so stale views are dropped)."""
    check_features(cfg)
    views: dict[str, str] = {}
    plans: list[str] = []
    wants: list[str] = []
    for name, enabled, make_views, album_wants, _write in FEATURES:
        if not enabled(cfg):
            continue
        made = make_views(cfg)
        views.update(made)
        cols = ", ".join(PLAN_COLUMNS)
        plans += [f"SELECT {cols}, '{name}' AS feature FROM {v}" for v in made if v.endswith("_plan")]
        wants += album_wants(cfg)
    if wants:  # albums wanted by name (folder albums, tag-album rules): found or created by name
        views.update(album_name_views(wants))
        views["albums_by_name_plan"] = ALBUM_ADD_PLAN
        plans.append(f"SELECT {', '.join(PLAN_COLUMNS)}, feature FROM albums_by_name_plan")
    # One view of what the features skipped: the by-name albums' problems and each feature's own.
    problems = [views.pop("feature_problems", NO_PROBLEMS)]
    problems += [f"SELECT feature, problem FROM {v}" for v in views if v.endswith("_problems")]
    views["feature_problems"] = "\nUNION ALL\n".join(problems)
    if plans:
        union = "\nUNION ALL\n".join(plans)
        views["feature_changes"] = (
            "SELECT kind, target, asset_id, payload, before, group_concat(reason, '; ') AS reason, idem_key, "
            f"group_concat(DISTINCT feature) AS {SOURCE_COLUMN} FROM ({union}) GROUP BY idem_key"
        )
    else:
        views["feature_changes"] = EMPTY_PLAN
    # What a feature change leads to (an added album classifies, a classified twin follows, ...) is
    # found by closing the plan (autotag.closure), not by views that look one step ahead.
    views["feature_plan"] = "SELECT * FROM feature_changes"
    return [
        PlanSource(
            view="feature_plan",
            views=views,
            columns={"payload": "payload", "before": "before"},
            prepare=partial(_prepare, cfg=cfg),
            features=SOURCE_COLUMN,
        )
    ]


def feature_problems(conn: Connection) -> list[tuple[str, str]]:
    """What the features could not do and the user should know (e.g. two albums with one name), then
    the rules and features an ``exclude:`` link blocks (``excluded_targets``)."""
    found: list[tuple[str, str]] = []
    queries = [f"SELECT feature, problem FROM {view} ORDER BY feature, problem"
               for view in ("feature_problems", "excluded_targets")]
    for sql in (*queries, OFFSET_CHANGED):
        try:
            rows = conn.execute(text(sql)).all()
        except Exception:
            continue
        found += [(str(f), str(p)) for f, p in rows]
    return found
