"""One measured stage, run in its own process so its peak RSS is its own.

    python -m bench.stage <stage> --url URL --key KEY --db PATH

Prints one JSON object: seconds, requests, peak RSS in MB, and stage details.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from autotag import session as ops
from autotag.closure import PLAN_TABLE
from autotag.config import AutotagConfig, PushConfig
from autotag.plan import install_rules, plan_summary
from autotag.session import Session, closed_plan
from immich_mirror.api.client import open_client
from immich_mirror.db.migrate import open_db
from immich_mirror.sync.runner import run_sync

# The hand-written floor for classify: one plain query that classifies every in-scope asset by the
# default rules and counts the marker changes a plan would make (the figure DEVELOPERS.md quotes).
FLOOR_SQL = r"""
WITH scope AS (SELECT id FROM assets WHERE owner_id = (SELECT value FROM sync_state WHERE key = 'owner_id')
               AND is_trashed = 0 AND visibility IN ('timeline', 'archive')),
hits AS (SELECT aa.asset_id FROM album_assets aa
         WHERE aa.album_id IN (SELECT id FROM albums WHERE name REGEXP '^\d{4}-\d{2}(-\d{2})?')
         UNION ALL
         SELECT at.asset_id FROM asset_tags at WHERE at.tag_id IN (SELECT id FROM tags WHERE value IN
             ('autotag_input_meme', 'autotag_input_adult_meme', 'autotag_input_pending_review', 'autotag_input_ignore'))),
desired AS (SELECT id AS asset_id, 'autotag_output_unknown' AS value FROM (SELECT id FROM scope EXCEPT SELECT asset_id FROM hits)
            UNION ALL
            SELECT asset_id, 'autotag_output_conflict' FROM (
                SELECT asset_id FROM hits GROUP BY asset_id HAVING COUNT(*) > 1 INTERSECT SELECT id FROM scope)),
current AS (SELECT at.asset_id, t.value FROM tags t JOIN asset_tags at ON at.tag_id = t.id
            WHERE t.value IN ('autotag_output_unknown', 'autotag_output_conflict')
            AND at.asset_id IN (SELECT id FROM scope))
SELECT (SELECT COUNT(*) FROM (SELECT asset_id, value FROM desired EXCEPT SELECT asset_id, value FROM current)) AS adds,
       (SELECT COUNT(*) FROM (SELECT asset_id, value FROM current EXCEPT SELECT asset_id, value FROM desired)) AS removes
"""


def peak_mb() -> float:
    """This process's own peak RSS. ru_maxrss would include the parent's, since Linux keeps it across
    fork and exec, and the parent holds the whole fake library."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage_raw(url: str, key: str) -> dict[str, Any]:
    """Every read an initial sync makes, with nothing done to the data: the floor for (b)."""
    client = open_client(url, key)
    t0 = time.perf_counter()
    n = 0
    for page in client.search_assets(visibility=None, with_deleted=True, with_exif=True):
        n += len(page)
    asset_seconds = time.perf_counter() - t0
    for album in client.list_albums() + client.list_albums(shared_with_me=True):
        for _ in client.search_assets(visibility=None, with_deleted=True, album_ids=[album.id], with_exif=False):
            pass
    for tag in client.list_tags():
        for _ in client.search_assets(visibility=None, with_deleted=True, tag_ids=[tag.id], with_exif=False):
            pass
    return {
        "seconds": time.perf_counter() - t0,
        "asset_pages_seconds": asset_seconds,
        "assets": n,
        "requests": client.requests,
    }


def stage_sync(url: str, key: str, db: Path) -> dict[str, Any]:
    client = open_client(url, key)
    engine = open_db(db)
    real = client.request
    walks = {"album": 0, "tag": 0}

    def counting(method: str, path: str, **kw: Any) -> Any:
        body = kw.get("json") or {}
        scope = {**body, **(body.get("filter") or {})}
        if path == "/search/metadata" and body.get("page", 1) == 1 and "cursor" not in body:
            if scope.get("albumIds"):
                walks["album"] += 1
            elif scope.get("tagIds"):
                walks["tag"] += 1
        return real(method, path, **kw)

    client.request = counting  # type: ignore[method-assign]
    t0 = time.perf_counter()
    summary = run_sync(client, engine)
    seconds = time.perf_counter() - t0
    with engine.connect() as conn:
        albums, tags = conn.exec_driver_sql("SELECT (SELECT COUNT(*) FROM albums), (SELECT COUNT(*) FROM tags)").one()
    return {
        "seconds": seconds,
        "requests": summary.requests,
        "line": summary.line(),
        "album_walks": walks["album"],
        "tag_walks": walks["tag"],
        "albums": albums,
        "tags": tags,
    }


def stage_classify(db: Path, *, all_features: bool = False) -> dict[str, Any]:
    engine = open_db(db)
    cfg = AutotagConfig()
    if all_features:  # the demo's config: every organiser feature on
        from autotag.config import parse_config
        from autotag.demo import demo_config_text

        cfg = parse_config(yaml.safe_load(demo_config_text()))
    t0 = time.perf_counter()
    install_rules(engine, cfg)
    with engine.begin() as conn:  # what `classify --dry-run` does: the closed plan, then its counts
        rounds, state = closed_plan(conn, cfg)
        summary = plan_summary(conn, plan_source=PLAN_TABLE, state=state)
    ours = time.perf_counter() - t0
    return {"seconds": ours, "kinds": summary.kinds, "statuses": summary.statuses, "rounds": rounds}


def stage_floor(db: Path) -> dict[str, Any]:
    engine = open_db(db)
    t0 = time.perf_counter()
    with engine.connect() as conn:
        adds, removes = conn.exec_driver_sql(FLOOR_SQL).one()
    return {"seconds": time.perf_counter() - t0, "adds": adds, "removes": removes}


def stage_run(url: str, key: str, db: Path, *, settle_per_asset: float | None = None) -> dict[str, Any]:
    cfg = AutotagConfig()
    if settle_per_asset is not None:  # how long a user key (no queue access) waits per asset touched
        cfg = cfg.model_copy(update={"push": PushConfig(settle_seconds_per_asset=settle_per_asset)})
    session = Session(cfg=cfg, db_path=db, client_factory=lambda: open_client(url, key))
    t0 = time.perf_counter()
    result = ops.run(session)
    client = session.client
    return {
        "seconds": time.perf_counter() - t0,
        "requests": client.requests,
        "push": result.push.as_dict(),
        "sync_requests": result.sync.requests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=["raw", "sync", "classify", "floor", "run"])
    parser.add_argument("--url", default="")
    parser.add_argument("--key", default="")
    parser.add_argument("--db", type=Path, default=Path("bench.db"))
    parser.add_argument("--settle-per-asset", type=float, default=None)
    parser.add_argument("--all-features", action="store_true")
    args = parser.parse_args(argv)
    if args.stage == "raw":
        result = stage_raw(args.url, args.key)
    elif args.stage == "sync":
        result = stage_sync(args.url, args.key, args.db)
    elif args.stage == "classify":
        result = stage_classify(args.db, all_features=args.all_features)
    elif args.stage == "floor":
        result = stage_floor(args.db)
    else:
        result = stage_run(args.url, args.key, args.db, settle_per_asset=args.settle_per_asset)
    result["peak_rss_mb"] = round(peak_mb(), 1)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
