"""Date repair: a better date for an asset, read from its file name, its folder or its duplicates.

Three steps at each install (classify, run, dry run), all in Python over the mirror's tables; the views
only read their result, so they work in any SQLite client:

1. ``date_found``: what each asset's file name and nearest dated folder say (``dates.patterns`` first,
   then ``autotag.dateparse``). Parsed once per asset; ``date_found_scan`` remembers the name, path and
   parser version each asset had, so a rerun parses only new, renamed or moved assets.
2. Each asset's *state*: its date, zone and whether Immich read that date from the file's metadata
   (docs/rules.md, "Where a date came from"). An asset the tool already re-dated is judged by the state
   before its first write (the ``before`` of its first ``set_date`` in the outbox): dates the tool wrote
   never count as evidence, so the plan is the same whatever part of an earlier push landed.
3. ``date_decisions``: ``autotag.features.date_policy.decide`` per asset, minus those whose date is
   already the decided instant. ``dates_plan`` turns them into ``set_date`` mutations. Where a
   duplicate's date contradicts the asset's own file-name date, nothing is decided: ``date_reviews``
   keeps why, and ``autotag.proposals`` gives the asset the review marker with that reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig
from autotag.dateparse import PARSER_VERSION, FoundDate, parse_folders, parse_name
from autotag.dateparse.folders import dated_folder
from autotag.features.common import ASSET_LOCAL_DATES, write_settings
from autotag.features.date_policy import (
    Candidate,
    DateState,
    Disagreement,
    Policy,
    decide,
    state_iso,
    wall_clock,
)
from autotag.rules import SCOPE_ASSETS, in_scope
from immich_mirror.db.engine import sql_regexp_date

FEATURE = "dates"
_BATCH = 5000
_YEARISH = re.compile(r"(?:19|20)\d\d")  # every dated folder has a year: most paths are ruled out at once


# ---------------------------------------------------------------------------------- 1. what names say
def _pattern_date(cfg: AutotagConfig, name: str | None, path: str | None) -> FoundDate | None:
    for pattern in cfg.dates.patterns:
        value = sql_regexp_date(pattern.regex, name if pattern.source == "name" else path)
        if value and len(value) >= 10:
            return FoundDate(value, "time" if "T" in value else "day", False, "pattern")
    return None


def found_dates(cfg: AutotagConfig, name: str | None, path: str | None, folders: dict[str, FoundDate | None]
                ) -> Iterator[tuple[str, FoundDate]]:
    """(slot, date) pairs of one asset: ``name`` (a pattern's or the parser's) and ``folder``."""
    found = _pattern_date(cfg, name, path) or (parse_name(name) if name else None)
    if found is not None:
        yield "name", found
    if path:
        folder = path.replace("\\", "/").rsplit("/", 1)[0]
        if folder not in folders:  # a library's files share few folders: each is parsed once
            folders[folder] = parse_folders(path) if _YEARISH.search(folder) else None
        if folders[folder] is not None:
            yield "folder", folders[folder]  # type: ignore[misc]


def _scan(conn: Connection, cfg: AutotagConfig) -> None:
    patterns = json.dumps([[p.source, p.regex] for p in cfg.dates.patterns])
    version = PARSER_VERSION + ":" + hashlib.sha1(patterns.encode()).hexdigest()[:12]
    sig = "coalesce(a.original_file_name, '') || '|' || coalesce(a.original_path, '') || '|' || :v"
    # One pass over the assets finds the new, renamed and moved ones (their signature differs from the
    # one kept), into a temp table read in batches: a first run parses a million names in bounded memory.
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.date_rescan")
    conn.execute(
        text(f"CREATE TEMP TABLE date_rescan AS SELECT a.id AS id, a.original_file_name AS name, "
             f"a.original_path AS path, {sig} AS sig FROM assets AS a "
             f"LEFT JOIN date_found_scan AS s ON s.asset_id = a.id WHERE s.sig IS NOT {sig}"),
        {"v": version},
    )
    # What was read of assets that are gone or changed is forgotten.
    gone = conn.exec_driver_sql(
        "DELETE FROM date_found_scan WHERE asset_id NOT IN (SELECT id FROM assets) RETURNING asset_id"
    ).scalars().all()
    if gone:
        conn.exec_driver_sql("DELETE FROM date_found WHERE asset_id IN (SELECT value FROM json_each(?))",
                             (json.dumps(gone),))
    conn.exec_driver_sql("DELETE FROM date_found WHERE asset_id IN (SELECT id FROM temp.date_rescan)")
    folders: dict[str, FoundDate | None] = {}
    # the DB-API cursors: SQLAlchemy's per-row parameter handling costs more than SQLite's inserts
    raw = conn.connection.driver_connection
    reader, writer = raw.cursor(), raw.cursor()  # type: ignore[union-attr]
    reader.execute("SELECT id, name, path, sig FROM temp.date_rescan")
    while rows := reader.fetchmany(_BATCH):
        found: list[tuple[Any, ...]] = []
        for asset_id, name, path, _sig in rows:
            for slot, f in found_dates(cfg, name, path, folders):
                found.append((asset_id, slot, f.family, f.value, f.precision, int(f.instant)))
        writer.executemany("INSERT OR REPLACE INTO date_found (asset_id, slot, family, value, precision, instant) "
                           "VALUES (?, ?, ?, ?, ?, ?)", found)
        writer.executemany("INSERT OR REPLACE INTO date_found_scan (asset_id, sig) VALUES (?, ?)",
                           [(r[0], r[3]) for r in rows])
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.date_rescan")


# ------------------------------------------------------------------------------------ 2. each state
def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    v = str(value)
    if len(v) == 24 and v[-1] == "Z" and v[10] == "T":  # the mirror's form: 2019-04-12T13:30:00.000Z
        try:
            return datetime(int(v[0:4]), int(v[5:7]), int(v[8:10]), int(v[11:13]), int(v[14:16]), int(v[17:19]),
                            tzinfo=UTC)
        except ValueError:
            return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class _Origin:
    before: dict[str, Any]  # the before of the asset's first set_date: its date before the tool
    written: frozenset[datetime]  # every instant the tool sent for it


def _origins(conn: Connection, ids: str) -> dict[str, _Origin]:
    """The origin of each asset of ``ids`` (a JSON list) the tool re-dated."""
    firsts: dict[str, dict[str, Any]] = {}
    written: dict[str, set[datetime]] = defaultdict(set)
    rows = conn.exec_driver_sql(
        "SELECT asset_id, payload, before FROM outbox WHERE kind = 'set_date' AND asset_id IN "
        "(SELECT asset_id FROM temp.date_written WHERE asset_id IN (SELECT value FROM json_each(?))) ORDER BY id",
        (ids,),
    )
    for asset_id, payload, before in rows:
        sent = _instant((json.loads(payload) or {}).get("dateTimeOriginal")) if payload else None
        if sent is not None:
            written[asset_id].add(sent)
        if asset_id not in firsts and before:
            old = json.loads(before)
            if isinstance(old, dict) and old.get("dateTimeOriginal"):
                firsts[asset_id] = old
    return {a: _Origin(b, frozenset(written[a])) for a, b in firsts.items()}


@dataclass(frozen=True)
class _Asset:
    id: str
    name: str
    state: DateState
    current: datetime | None  # the mirror's EXIF date now
    before: dict[str, Any]  # exactly what undo must restore
    latest: str  # the last credible day: the upload's day + 1 (a photo is not taken after its upload)
    duplicate_id: str | None


def _from_metadata(instant: datetime | None, file_modified: datetime | None, camera: bool) -> bool:
    """Immich falls back to the file's timestamps when no date tag exists (metadata.service.ts
    ``getDates``): the EXIF date is then the file's modification time, to the second, and no camera
    wrote a make or model. Anything else came from the file's metadata (or a person's edit)."""
    if instant is None:
        return False
    return camera or file_modified is None or instant != file_modified


def _asset(row: Any, origin: _Origin | None, today: str) -> _Asset:
    current = _instant(row.date_time_original)
    camera = bool(row.make or row.model)
    file_modified = _instant(row.file_modified_at)
    uploaded = _instant(row.created_at)
    latest = min(today, (uploaded + timedelta(days=1)).date().isoformat()) if uploaded else today
    if origin is not None and (current is None or current in origin.written
                               or current == _instant(origin.before["dateTimeOriginal"])):
        iso = str(origin.before["dateTimeOriginal"])
        instant = _instant(iso)
        zone = origin.before.get("timeZone")
        state = DateState(instant, zone, iso[:19], _from_metadata(instant, file_modified, camera))
        before = origin.before
    else:
        local = (row.local_date_time or row.date_time_original or "")[:19].replace(" ", "T")
        state = DateState(current, row.time_zone, local, _from_metadata(current, file_modified, camera))
        before = {"dateTimeOriginal": state_iso(state), "timeZone": row.time_zone}
    return _Asset(row.id, row.original_file_name or row.id, state, current, before, latest, row.duplicate_id)


# ------------------------------------------------------------------------------- 3. the decisions
def policy_of(cfg: AutotagConfig) -> Policy:
    d = cfg.dates
    return Policy(
        min_date=d.min_date, ignore_dates=frozenset(d.ignore_dates), min_difference_hours=d.min_difference_hours,
        date_only_time=d.date_only_time, default_time_zone=d.default_time_zone,
        override_metadata=d.override_metadata, event_window_days=d.event_window_days,
        today=(date.today() + timedelta(days=1)).isoformat(),
    )


def _candidate(slot: str, f: tuple[str, str, str, int], detail: str) -> Candidate:
    family, value, precision, instant = f
    rule = "folder" if slot == "folder" else "name"
    return Candidate(rule, family, value, precision, bool(instant), detail)


def candidates_of(a: _Asset, found: dict[str, dict[str, tuple[str, str, str, int]]],
                  members: Iterable[_Asset], cfg: AutotagConfig, folder_names: dict[str, str]) -> list[Candidate]:
    """The asset's candidates in priority order, without the families the user switched off."""
    own = found.get(a.id, {})
    name = _candidate("name", own["name"], f"the file name ({own['name'][0]})") if "name" in own else None
    dup_meta: list[Candidate] = []
    dup_names: list[Candidate] = []
    if cfg.dates.from_duplicates:
        for m in sorted(members, key=lambda m: m.id):
            if m.id == a.id:
                continue
            if m.state.from_metadata and m.state.instant is not None:
                value = m.state.instant.strftime("%Y-%m-%dT%H:%M:%S")
                dup_meta.append(Candidate("duplicate", "duplicate", value, "time", True,
                                          f"the duplicate {m.name} (its own metadata)", m.state.zone))
            if "name" in found.get(m.id, {}):
                f = found[m.id]["name"]
                dup_names.append(Candidate("duplicate", "duplicate", f[1], f[2], bool(f[3]),
                                           f"the file name of the duplicate {m.name}"))
    ordered = [
        *([name] if name and name.precision == "time" else []),
        *sorted(dup_meta, key=lambda c: c.value),
        *([name] if name and name.precision != "time" else []),
        *sorted(dup_names, key=lambda c: (c.value, c.detail)),
    ]
    if "folder" in own:
        folder = folder_names.get(a.id, "")
        ordered.append(_candidate("folder", own["folder"], f"the folder '{folder}' (where its event starts)"))
    return [c for c in ordered if cfg.dates.families.get(c.family, True)]


def _folder_name(path: str | None) -> str:
    found = dated_folder(path or "")
    return found[1] if found else ""


def _reason(a: _Asset, c: Candidate, new_local: str, new_iso: str, old_credible: bool) -> str:
    why = ("the current date is not credible" if not old_credible
           else "its date came from its file's metadata (dates.override_metadata)" if a.state.from_metadata
           else "its date came from the file's timestamps")
    return (f"date {a.state.local.replace('T', ' ')} -> {new_local.replace('T', ' ')} ({new_iso[19:]}) "
            f"from {c.detail}; {why}")


# Which assets the policy must see, decided in SQL so that a library of camera photos costs little:
# those with something to read (a dated name or folder, a duplicate group) whose date may be replaced
# (dated by the file: the EXIF date is the file's time, to the second, and no camera make or model; not
# credible; or re-dated by the tool before) are *targets*; the in-scope members of their duplicate
# groups are *sources*. Each has a signature of everything its decision reads (the config's digest, its
# dates, zone, name, path, group, the tool's last write to it); a target is evaluated again only when
# its signature or one of its group's changed (``date_eval`` keeps the signatures, ``date_decisions``
# the decisions), so a rerun costs what changed.
_SIG = (
    ":cfg || '|' || coalesce(a.date_time_original, '') || '|' || coalesce(a.time_zone, '') || '|' "
    "|| coalesce(a.local_date_time, '') || '|' || coalesce(a.file_modified_at, '') || '|' "
    "|| coalesce(a.created_at, '') || '|' || coalesce(a.duplicate_id, '') || '|' "
    "|| coalesce(a.original_file_name, '') || '|' || coalesce(a.original_path, '') || '|' "
    "|| coalesce((SELECT w.m FROM temp.date_written AS w WHERE w.asset_id = a.id), '')"
)
_HAS_DATE = "coalesce(a.local_date_time, a.date_time_original) IS NOT NULL"
# Driven by the assets with something to read (a dated name or folder, a duplicate group): a library's
# other assets are never scanned, and the scope is probed per candidate, not built.
_SEEN = """
CREATE TEMP TABLE date_seen AS
WITH targets AS MATERIALIZED (
    SELECT a.id FROM assets AS a
    WHERE a.id IN (SELECT asset_id FROM date_found UNION SELECT id FROM assets WHERE duplicate_id >= '')
      AND EXISTS (SELECT 1 FROM ({scope}) AS s_ WHERE s_.asset_id = a.id) AND {has_date}
      AND (:all = 1
           OR a.date_time_original IS NULL
           OR (substr(a.date_time_original, 1, 19) = substr(a.file_modified_at, 1, 19)
               AND json_extract(a.raw, '$.exifInfo.make') IS NULL AND json_extract(a.raw, '$.exifInfo.model') IS NULL)
           OR substr(coalesce(a.local_date_time, a.date_time_original), 1, 10) NOT BETWEEN :min_date AND :today
           OR substr(coalesce(a.local_date_time, a.date_time_original), 1, 10) IN ({ignored})
           OR a.id IN (SELECT asset_id FROM temp.date_written))
),
seen AS MATERIALIZED (
    SELECT id FROM targets
    UNION
    SELECT a.id FROM assets AS a
    WHERE a.duplicate_id IN (SELECT duplicate_id FROM assets
                             WHERE id IN (SELECT id FROM targets) AND duplicate_id IS NOT NULL)
      AND EXISTS (SELECT 1 FROM ({scope}) AS s_ WHERE s_.asset_id = a.id) AND {has_date}
)
SELECT a.id AS id, a.duplicate_id AS duplicate_id, a.id IN (SELECT id FROM targets) AS target, {sig} AS sig
FROM assets AS a
WHERE a.id IN (SELECT id FROM seen)
"""
_DIRTY = """
CREATE TEMP TABLE date_dirty AS
WITH changed AS (SELECT s.id, s.duplicate_id FROM temp.date_seen AS s LEFT JOIN date_eval AS e ON e.asset_id = s.id
                 WHERE e.sig IS NOT s.sig)
SELECT s.id AS id, s.target AS target FROM temp.date_seen AS s
WHERE s.id IN (SELECT id FROM changed)
   OR s.duplicate_id IN (SELECT duplicate_id FROM changed WHERE duplicate_id IS NOT NULL)
"""


@dataclass(frozen=True)
class _Row:
    id: str
    original_file_name: str | None
    original_path: str | None
    date_time_original: str | None
    time_zone: str | None
    local_date_time: str | None
    file_modified_at: str | None
    created_at: str | None
    duplicate_id: str | None
    make: str | None
    model: str | None
    target: int


# Bumped when the policy decides differently on the same inputs: every asset is judged again.
POLICY_VERSION = "2"  # 2: a duplicate's date never overrides the asset's own name date or metadata


def _config_digest(cfg: AutotagConfig) -> str:
    settings = cfg.dates.model_dump(mode="json", exclude={"enabled"})
    digest = json.dumps([PARSER_VERSION, POLICY_VERSION, settings], sort_keys=True)
    return hashlib.sha1(digest.encode()).hexdigest()[:16]


def _mark_dirty(conn: Connection, cfg: AutotagConfig, policy: Policy) -> None:
    """``temp.date_seen`` (targets and sources with their signatures), ``temp.date_dirty`` (those to
    evaluate again); decisions of assets that are no targets any more are dropped."""
    for table in ("date_written", "date_seen", "date_dirty"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE date_written AS SELECT asset_id, max(id) AS m FROM outbox "
        "WHERE kind = 'set_date' AND asset_id IS NOT NULL GROUP BY asset_id"
    )
    conn.exec_driver_sql("CREATE UNIQUE INDEX temp.date_written_asset ON date_written (asset_id)")
    ignored = sorted(policy.ignore_dates)
    sql = _SEEN.format(scope=SCOPE_ASSETS, has_date=_HAS_DATE, sig=_SIG,
                       ignored=", ".join(f":i{n}" for n in range(len(ignored))) or "NULL")
    params = {"all": int(cfg.dates.override_metadata), "min_date": policy.min_date, "today": policy.today,
              "cfg": _config_digest(cfg), **{f"i{n}": d for n, d in enumerate(ignored)}}
    conn.execute(text(sql), params)
    conn.exec_driver_sql("CREATE UNIQUE INDEX temp.date_seen_id ON date_seen (id)")
    conn.exec_driver_sql(_DIRTY)
    for table in ("date_decisions", "date_reviews"):
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE asset_id NOT IN (SELECT id FROM temp.date_seen WHERE target)")
    conn.exec_driver_sql("DELETE FROM date_eval WHERE asset_id NOT IN (SELECT id FROM temp.date_seen)")


def _said(c: Candidate, zone: str | None) -> str:
    return f"{c.detail} says {wall_clock(c, zone).replace('T', ' ')}"


def _disagreement(a: _Asset, d: Disagreement, policy: Policy) -> str:
    """The review marker's reason: both dates, where each came from, and that nothing was changed."""
    zone = a.state.zone or policy.default_time_zone
    return (f"dates disagree: {_said(d.own, zone)}, {_said(d.other, zone)}; "
            f"its date {a.state.local.replace('T', ' ')} is left as it is")


def _decisions(
    conn: Connection, cfg: AutotagConfig, policy: Policy
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The decisions of the dirty targets (``_mark_dirty``), judged with their groups' members, and the
    targets left for a person (their own name date against a duplicate's: ``date_reviews`` rows)."""
    # the DB-API cursor: at a million assets SQLAlchemy's row objects cost more than the query
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rows = [_Row(*r) for r in cursor.execute(
        "SELECT a.id, a.original_file_name, a.original_path, a.date_time_original, a.time_zone, a.local_date_time, "
        "a.file_modified_at, a.created_at, a.duplicate_id, json_extract(a.raw, '$.exifInfo.make'), "
        "json_extract(a.raw, '$.exifInfo.model'), d.target "
        "FROM temp.date_dirty AS d JOIN assets AS a ON a.id = d.id"
    )]
    ids = json.dumps([r.id for r in rows])
    found: dict[str, dict[str, tuple[str, str, str, int]]] = defaultdict(dict)
    for asset_id, slot, family, value, precision, instant in cursor.execute(
        "SELECT asset_id, slot, family, value, precision, instant FROM date_found "
        "WHERE asset_id IN (SELECT value FROM json_each(?))", (ids,)
    ):
        found[asset_id][slot] = (family, value, precision, instant)
    origins = _origins(conn, ids)
    assets = [_asset(r, origins.get(r.id), policy.today) for r in rows]
    groups: dict[str, list[_Asset]] = defaultdict(list)
    for a in assets:
        if a.duplicate_id:
            groups[a.duplicate_id].append(a)
    targets = {r.id for r in rows if r.target}
    folder_names = {r.id: _folder_name(r.original_path) for r in rows if "folder" in found.get(r.id, {})}
    out: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    for a in assets:
        if a.id not in targets or (a.id not in found and len(groups.get(a.duplicate_id or "", ())) < 2):
            continue
        cands = candidates_of(a, found, groups.get(a.duplicate_id or "", ()), cfg, folder_names)
        d = decide(a.state, cands, policy, a.latest)
        if isinstance(d, Disagreement):
            reviews.append({"asset_id": a.id, "reason": _disagreement(a, d, policy)})
            continue
        if d is None or _instant(d.new_iso) == a.current:
            continue  # kept, or already the decided date (pushed, and confirmed by a sync)
        payload = {"dateTimeOriginal": d.new_iso, **({"timeZone": d.time_zone} if d.time_zone else {})}
        out.append({
            "asset_id": a.id, "rule": d.candidate.rule, "family": d.candidate.family, "detail": d.candidate.detail,
            "old_local": a.state.local, "old_iso": str(a.before["dateTimeOriginal"]),
            "old_time_zone": a.before.get("timeZone"), "new_local": d.new_local, "new_iso": d.new_iso,
            "time_zone": d.time_zone, "old_credible": int(d.old_credible),
            "payload": json.dumps(payload, sort_keys=True), "before": json.dumps(a.before, sort_keys=True),
            "reason": _reason(a, d.candidate, d.new_local, d.new_iso, d.old_credible),
        })
    return out, reviews


def write(conn: Connection, cfg: AutotagConfig) -> None:
    d = cfg.dates
    # read by autotag.derived (the zones zone_offsets must know) and by anyone's SQL
    write_settings(conn, FEATURE, {"default_time_zone": d.default_time_zone, "min_date": d.min_date,
                                   "override_metadata": int(d.override_metadata),
                                   "event_window_days": d.event_window_days})
    _scan(conn, cfg)
    policy = policy_of(cfg)
    _mark_dirty(conn, cfg, policy)
    decisions, reviews = _decisions(conn, cfg, policy)
    for table in ("date_decisions", "date_reviews"):
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE asset_id IN (SELECT id FROM temp.date_dirty)")
    if reviews:
        conn.execute(text("INSERT INTO date_reviews (asset_id, reason) VALUES (:asset_id, :reason)"), reviews)
    columns = ("asset_id", "rule", "family", "detail", "old_local", "old_iso", "old_time_zone", "new_local",
               "new_iso", "time_zone", "old_credible", "payload", "before", "reason")
    for i in range(0, len(decisions), _BATCH):
        conn.execute(
            text(f"INSERT INTO date_decisions ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"),
            decisions[i : i + _BATCH],
        )
    conn.exec_driver_sql("INSERT OR REPLACE INTO date_eval (asset_id, sig) SELECT s.id, s.sig FROM temp.date_seen AS s "
                         "WHERE s.id IN (SELECT id FROM temp.date_dirty)")
    for table in ("date_written", "date_seen", "date_dirty"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")


DATE_FIXES = f"""
SELECT d.* FROM date_decisions AS d JOIN assets AS a ON a.id = d.asset_id
WHERE {in_scope("d.asset_id")}
  AND datetime(a.date_time_original) IS NOT datetime(d.new_iso)
"""

DATES_PLAN = """
SELECT 'set_date' AS kind, 'date' AS target, f.asset_id AS asset_id, f.payload AS payload, f.before AS before,
       f.reason AS reason, 'set_date:date:' || f.asset_id || ':' || f.new_iso AS idem_key
FROM date_fixes AS f
"""


def views(cfg: AutotagConfig) -> dict[str, str]:
    return {
        "asset_local_dates": ASSET_LOCAL_DATES,
        "date_fixes": DATE_FIXES,
        "dates_plan": DATES_PLAN,
    }


def date_change_groups(conn: Connection, plan_table: str) -> list[dict[str, Any]]:
    """The planned date changes (the ``set_date`` rows of ``plan_table``, a code constant) grouped by the
    rule and family that produced them: ``[{rule, family, count, changes: [{asset_id, name, old, new}]}]``,
    largest group first; the dry run shows them so a user can accept one family and exclude another."""
    try:
        rows = conn.exec_driver_sql(
            "SELECT f.rule, f.family, f.asset_id, coalesce(a.original_file_name, f.asset_id), f.old_local, "
            "f.new_local, f.new_iso FROM date_fixes AS f LEFT JOIN assets AS a ON a.id = f.asset_id "
            f"WHERE f.asset_id IN (SELECT asset_id FROM {plan_table} WHERE kind = 'set_date') "
            "ORDER BY f.rule, f.family, f.new_local, f.asset_id"
        ).all()
    except Exception:  # the feature is off: no view
        return []
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for rule, family, asset_id, name, old, new, new_iso in rows:
        groups[(rule, family)].append({"asset_id": asset_id, "name": name, "old": old.replace("T", " "),
                                       "new": new.replace("T", " ") + " " + new_iso[19:]})
    out = [{"rule": r, "family": f, "count": len(c), "changes": c} for (r, f), c in groups.items()]
    return sorted(out, key=lambda g: (-int(g["count"]), str(g["rule"]), str(g["family"])))
