"""``python -m bench.review [--assets 100000]``: what the review page costs beside the dry run it shows.

Builds a synthetic mirror (bench/million.py), then times, best of ``--repeat``:
the dry run with every row (``classify --dry-run --json``'s work: the floor), the page's plan (the same
dry run, grouped and labelled), ``GET /api/plan`` and a page of 48 photos of the largest group, and
rejecting that whole group (decisions written, plan read again). No server is contacted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from autotag import review
from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.session import Session
from autotag.web.app import create_app
from autotag.web.state import ReviewState
from autotag.web.thumbs import ThumbnailCache
from bench.million import build_mirror
from bench.timing import best

TOKEN = "bench-token"
ORIGIN = "http://127.0.0.1:1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        db = Path(tmp) / "mirror.db"
        build_mirror(db, args.assets)
        session = Session(cfg=AutotagConfig(), db_path=db)

        def no_thumbnails(_asset: str) -> tuple[bytes, str]:
            raise AssertionError("the bench fetches no thumbnail")

        state = ReviewState(session, ThumbnailCache(Path(tmp) / "t", no_thumbnails), web_base=lambda: ORIGIN)
        http = TestClient(create_app(state, TOKEN), base_url=ORIGIN)
        floor = best(args.repeat, lambda: ops.classify(session, dry_run=True, preview=None))
        plan_s = best(args.repeat, lambda: review.load_plan(session))
        state.reload()
        api_s = best(args.repeat, lambda: http.get("/api/plan", params={"token": TOKEN}).raise_for_status())
        plan = http.get("/api/plan", params={"token": TOKEN}).json()
        largest = max((g for f in plan["features"] for g in f["groups"]), key=lambda g: g["count"])
        page_s = best(
            args.repeat,
            lambda: http.get(f"/api/group/{largest['id']}", params={"token": TOKEN, "page": 2}).raise_for_status(),
        )
        started = time.perf_counter()
        http.post(
            "/api/decide",
            params={"token": TOKEN},
            headers={"Origin": ORIGIN},
            json={"decision": "rejected", "groups": [largest["id"]], "fingerprint": plan["fingerprint"]},
        ).raise_for_status()
        reject_s = time.perf_counter() - started
        session.close()
    print(f"review, {args.assets} assets, plan of {plan['total']} changes (largest group {largest['count']}):")
    print(f"  dry run with every row (the floor)   {floor:6.2f} s")
    print(f"  the page's plan (grouped, labelled)   {plan_s:6.2f} s  ({plan_s / floor:.2f}x the floor)")
    print(f"  GET /api/plan (from memory)           {api_s:6.3f} s")
    print(f"  a page of 48 photos                   {page_s:6.3f} s")
    print(f"  reject the largest group, re-plan     {reject_s:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
