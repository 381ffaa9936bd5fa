"""``make bench``: sync, classify and push figures beside the floor each is judged against.

Every measured stage runs in a child process (``bench/stage.py``) so that its peak RSS is its own; the
fake server runs in this process, on a loopback port. Results go to stdout and to
``docs/benchmarks.md``.

    python -m bench [--sizes 10000,100000] [--million 1000000] [--lost 10000] [--first-run 20000] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autotag.demo import PLACES_TAG, SMART_ALBUM
from bench.dateparse import row as dateparse_row
from bench.first_run import capture_first_run
from bench.million import OWNER, build_mirror
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server
from immich_mirror.sync.context import OVERLAP

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str, str]  # what, ours, floor, ratio, target


def stage(
    name: str, *, url: str = "", key: str = "", db: Path | None = None, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.stage", name, "--url", url, "--key", key, *extra]
    if db is not None:
        cmd += ["--db", str(db)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out))


def best_of(times: int, name: str, **kw: Any) -> dict[str, Any]:
    """The fastest of ``times`` runs of a stage that changes nothing: ours and its floor are both timed
    this way, so that a noisy moment on a shared machine does not decide the ratio."""
    runs = [stage(name, **kw) for _ in range(times)]
    return min(runs, key=lambda r: float(r["seconds"]))


def ratio(ours: float, floor: float) -> str:
    return f"{ours / floor:.2f}x" if floor > 0 else "-"


def mutate_one_percent(lib: FakeLibrary, seed: int) -> int:
    """Change 1% of the owner's assets the way a user does: favourites, archive, dates, tags."""
    rng = random.Random(seed)
    own = sorted(a for a, asset in lib.assets.items() if asset.owner_id == lib.owner_id)
    picked = rng.sample(own, max(1, len(own) // 100))
    quarter = len(picked) // 4 or 1
    lib.set_favorite(picked[:quarter], True)
    lib.set_visibility(picked[quarter : 2 * quarter], "archive")
    lib.set_date(picked[2 * quarter : 3 * quarter], date_time_original=datetime(2015, 6, 1, 12, tzinfo=UTC))
    tag = next(iter(lib.tags.values()))
    lib.tag_assets([tag.id], picked[3 * quarter :])
    return len(picked)


# Albums in the sync figures: one per 50 assets (the issue-16 lab had 60 for 2,000; real libraries more).
ALBUM_EVERY = 50


def after_push_row(label: str, push: dict[str, Any], after: dict[str, Any]) -> Row:
    """The sync right after a push of markers: what it costs beside the push's size (target: 30
    requests and one per 1,000 assets the push touched; none of the push's own changes re-read)."""
    sent = int(push["push"]["sent"])
    budget = 30 + -(-sent // 1000)
    return (
        f"sync {label}: (e) sync right after a push of {sent} markers",
        f"{after['requests']} requests, {after['seconds']:.2f} s "
        f"({after['album_walks']} album and {after['tag_walks']} tag member walks)",
        f"{budget} requests",
        f"{after['requests'] / budget:.2f}x",
        "<= 30 + 1 per 1,000 assets pushed",
    )


def bench_size(n: int, tmp: Path, rows: list[Row], details: dict[str, Any], *, core_loop: bool) -> None:
    lib = generate_library(n, seed=1, album_every=ALBUM_EVERY)
    with running_fake_server(lib) as (url, key):
        db = tmp / f"sync-{n}.db"
        raw = stage("raw", url=url, key=key)
        first = stage("sync", url=url, key=key, db=db)
        nothing = stage("sync", url=url, key=key, db=db)
        changed = mutate_one_percent(lib, seed=n)
        after = stage("sync", url=url, key=key, db=db)
        label = f"{n // 1000}k"
        rows.append((f"sync {label}: (a) fetch every page a sync reads", f"{raw['seconds']:.2f} s", "-", "-", ""))
        rows.append(
            (
                f"sync {label}: (b) initial sync",
                f"{first['seconds']:.2f} s",
                f"{raw['seconds']:.2f} s (a)",
                ratio(first["seconds"], raw["seconds"]),
                "<= 2x (a)",
            )
        )
        walks = first["album_walks"] + first["tag_walks"]
        rows.append(
            (
                f"sync {label}: (b) initial sync, member walks ({first['albums']} albums, {first['tags']} tags)",
                f"{walks} walks",
                f"{first['albums'] + first['tags']} (one each)",
                ratio(walks, first["albums"] + first["tags"]),
                "<= 1 walk per album and per tag on v3",
            )
        )
        rows.append(
            (
                f"sync {label}: (c) sync, nothing changed",
                f"{nothing['seconds']:.2f} s, {nothing['requests']} requests",
                "-",
                "-",
                "<= 3 s at 100k",
            )
        )
        rows.append(
            (
                f"sync {label}: (d) sync after {changed} assets ({changed * 100 // n}%) changed",
                f"{after['seconds']:.2f} s",
                "-",
                "-",
                "",
            )
        )
        after_push_at = len(rows)
        rows.append(
            (f"sync {label}: peak RSS (initial sync)", f"{first['peak_rss_mb']:.0f} MB", "-", "-", "<= 300 MB at 100k")
        )
        details[f"sync_{n}"] = {"raw": raw, "initial": first, "nothing": nothing, "after_1pct": after}
        # Before the push whose next sync (e) measures, (d)'s changes leave the overlap window: assets changed
        # in it are read again on purpose (same-millisecond stamps), which is (d)'s cost, not the push's.
        time.sleep(OVERLAP.total_seconds() + 1)
        if not core_loop:
            pushed = stage("run", url=url, key=key, db=db)
            after_push = stage("sync", url=url, key=key, db=db)
            rows.insert(after_push_at, after_push_row(label, pushed, after_push))
            details[f"sync_{n}"].update(push=pushed, after_push=after_push)
            return
        classify = best_of(3, "classify", db=db)
        floor = best_of(3, "floor", db=db)
        rows.append(
            (
                f"classify+plan {label} (best of 3, as the floor)",
                f"{classify['seconds']:.2f} s",
                f"{floor['seconds']:.2f} s (query)",
                ratio(classify["seconds"], floor["seconds"]),
                "<= 5 s",
            )
        )
        first_run = stage("run", url=url, key=key, db=db)
        after_push = stage("sync", url=url, key=key, db=db)
        rows.insert(after_push_at, after_push_row(label, first_run, after_push))
        # The push bumps updatedAt of every asset it tagged (Immich's sidecar jobs), so the next run
        # re-reads them once; the run after that is the "nothing changed" one.
        # "Nothing changed" means: the last change is older than the sync's overlap window when the
        # run before starts, so that run re-reads the push's bumps and the next one reads nothing.
        time.sleep(OVERLAP.total_seconds() + 1)
        absorb = stage("run", url=url, key=key, db=db)
        second_run = stage("run", url=url, key=key, db=db)
        writes = first_run["push"]["requests"]
        rows.append(
            (
                f"run {label}: push {first_run['push']['sent']} tag mutations",
                f"{writes} write requests",
                "-",
                "-",
                "<= 150 requests",
            )
        )
        rows.append(
            (
                f"run {label}: whole first run",
                f"{first_run['seconds']:.2f} s, {first_run['requests']} requests (incl. sync and verify)",
                "-",
                "-",
                "",
            )
        )
        rows.append(
            (
                f"run {label}: the run after that sync (the push's bumps still inside its overlap window)",
                f"{absorb['seconds']:.2f} s",
                "-",
                "-",
                "",
            )
        )
        rows.append(
            (
                f"run {label}: nothing changed (for longer than the {OVERLAP.seconds} s sync overlap)",
                f"{second_run['seconds']:.2f} s",
                "-",
                "-",
                "<= 5 s",
            )
        )
        details[f"core_{n}"] = {
            "classify": classify,
            "floor": floor,
            "run1": first_run,
            "after_push": after_push,
            "absorb": absorb,
            "run2": second_run,
        }


def bench_million(n: int, tmp: Path, rows: list[Row], details: dict[str, Any]) -> None:
    db = tmp / f"million-{n}.db"
    t0 = time.perf_counter()
    build_mirror(db, n, seed=1)
    built = time.perf_counter() - t0
    classify = best_of(2, "classify", db=db)
    floor = best_of(2, "floor", db=db)
    label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    rows.append(
        (
            f"classify+plan {label} (best of 2, as the floor; mirror generated in {built:.0f} s)",
            f"{classify['seconds']:.2f} s",
            f"{floor['seconds']:.2f} s (query)",
            ratio(classify["seconds"], floor["seconds"]),
            "<= 30 s",
        )
    )
    rows.append(
        (
            f"classify+plan {label}: peak RSS",
            f"{classify['peak_rss_mb']:.0f} MB",
            f"{floor['peak_rss_mb']:.0f} MB (query)",
            ratio(classify["peak_rss_mb"], floor["peak_rss_mb"]),
            "<= 500 MB",
        )
    )
    # The first classify with date repair on reads a date out of every file name and path once (kept in
    # date_name_candidates); later ones parse only new or renamed assets.
    features = stage("classify", db=db, extra=("--all-features",))
    # As after a push of many date repairs: every tenth asset has a set_date the server confirmed
    # (what the date features read through date_pushed), so a plan that scales with them shows here.
    with sqlite3.connect(db) as con:
        con.execute(
            "INSERT INTO outbox (kind, target, asset_id, payload, idem_key, state, attempts, created_at, updated_at) "
            "SELECT 'set_date', 'date', id, "
            "json_object('dateTimeOriginal', substr(local_date_time, 1, 19) || '+00:00'), "
            "'set_date:date:' || id, 'sent', 1, '2026-01-01', '2026-01-01' FROM assets WHERE rowid % 10 = 0"
        )
    # And as after the first real push: the demo's smart album exists (autotag created it) and holds what its
    # rule matches. Without it every dry run would rehearse creating it again (a second round), which only
    # the first run pays.
    with sqlite3.connect(db) as con:
        album_id = "00000004-0000-4000-8000-000000000000"
        con.execute(
            "INSERT INTO albums(id, name, owner_id, is_owned) VALUES (?, ?, ?, 1)", (album_id, SMART_ALBUM, OWNER)
        )
        con.execute(
            "INSERT INTO created_albums(album_id, name, created_at) VALUES (?, ?, '2026-01-01')",
            (album_id, SMART_ALBUM),
        )
        con.execute(
            "INSERT OR IGNORE INTO album_assets(album_id, asset_id) SELECT ?, at.asset_id FROM asset_tags at "
            "JOIN tags t ON t.id = at.tag_id JOIN assets a ON a.id = at.asset_id "
            "WHERE (t.value = ? OR t.value LIKE ? || '/%') AND a.owner_id = ? AND a.is_trashed = 0 "
            "AND a.visibility IN ('timeline', 'archive')",
            (album_id, PLACES_TAG, PLACES_TAG, OWNER),
        )
    again = stage("classify", db=db, extra=("--all-features",))
    rows.append(
        (
            f"classify+plan {label}, every organiser feature on: first run (parses every file name)",
            f"{features['seconds']:.2f} s, {features['peak_rss_mb']:.0f} MB",
            "-",
            "-",
            "<= 500 MB",
        )
    )
    rows.append(
        (
            f"classify+plan {label}, every organiser feature on: every run after (10% of dates set, "
            "the smart album made)",
            f"{again['seconds']:.2f} s, {again['peak_rss_mb']:.0f} MB",
            f"{classify['seconds']:.2f} s (default rules)",
            ratio(again["seconds"], classify["seconds"]),
            "<= 2x default rules, <= 30 s, <= 500 MB",
        )
    )
    details[f"million_{n}"] = {
        "classify": classify,
        "floor": floor,
        "all_features": features,
        "all_features_again": again,
    }


def bench_lost_writes(n: int, tmp: Path, rows: list[Row], details: dict[str, Any]) -> None:
    """~n marker changes that each need two writes to one asset, on a fake that loses racing writes.

    A first run marks the library; then half the unclassified assets are put in two date albums, so
    the measured run must add the conflict marker and remove the unknown one on each (API-NOTES 0b).
    The fake runs each write's jobs half a second later, like a busy server. Variants: an admin key
    (the pusher waits for the queues), a user key (it waits per asset touched, here 2 ms), and a user
    key with no waiting at all, where losses happen after the pusher verified and the next run's sync
    finds and repairs them.
    """
    variants = [
        ("admin key, waits for the queues", True, ("--settle-per-asset", "0.002")),
        ("user key, waits 2 ms per asset", False, ("--settle-per-asset", "0.002")),
        ("user key, no waiting at all", False, ("--settle-per-asset", "0")),
    ]
    for how, admin, extra in variants:
        lib = generate_library(n, seed=2, lost_writes_rate=0.1, lost_writes_window_ms=1000, jobs="async")
        lib.job_delay_s = 0.5
        lib.users[lib.owner_id].is_admin = admin
        with running_fake_server(lib) as (url, key):
            db = tmp / f"lost-{n}-{len(rows)}.db"
            stage("run", url=url, key=key, db=db, extra=extra)
            lib.settle()
            unknown = lib.tag_by_value("autotag_output_unknown")
            moved = sorted(lib.tag_members[unknown.id])[::2] if unknown else []
            dated = sorted((a for a in lib.albums.values() if a.name[:4].isdigit()), key=lambda a: a.name)[:2]
            for album in dated:
                lib.add_to_album(album.id, moved)
            lost_before = lib.lost_writes
            result = stage("run", url=url, key=key, db=db, extra=extra)
            lib.settle()
            lost_on_server = lib.lost_writes - lost_before
            time.sleep(OVERLAP.total_seconds() + 1) if lost_on_server else None
            repair = stage("run", url=url, key=key, db=db, extra=extra) if lost_on_server else None
        push = result["push"]
        found = (
            f"lost in verify round 1: {push['writes_lost']}, re-applied {push['writes_reapplied']}, "
            f"still lost after the last round: {push['still_lost']}"
        )
        if repair is not None:
            found += (
                f"; {lost_on_server} lost after the pusher verified, all found and re-applied by the next run "
                f"({repair['push']['sent']} changes)"
            )
        rows.append(
            (
                f"push {push['sent']} marker changes (two per asset), lost writes on, {how}",
                f"{push['requests']} write requests, {push['rounds']} verify round(s), {result['seconds']:.1f} s",
                "-",
                "-",
                found,
            )
        )
        details[f"lost_{n}_{len(rows)}"] = {"run": result, "lost_on_server": lost_on_server, "repair": repair}


def write_table(rows: list[Row], argv: list[str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, against the bundled fake Immich "
        "(3.1.0 dialect) on loopback. Each figure is a child process; peak RSS is that process's own.",
        f"Arguments: `{' '.join(argv) or '(defaults)'}`.",
        "",
        "The floor is what the figure is judged against: for sync, the same client reading every page an "
        "initial sync reads and doing nothing with them; for classify, one hand-written SQL query that "
        "classifies every asset by the default rules and counts the marker changes.",
        "",
        "| what | ours | floor | ratio | target |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--million", type=int, default=1_000_000, help="0 to skip")
    parser.add_argument("--lost", type=int, default=10_000, help="0 to skip")
    parser.add_argument("--first-run", type=int, default=20_000, help="assets of the terminal capture; 0 to skip")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    rows: list[Row] = []
    details: dict[str, Any] = {}
    started = time.perf_counter()
    rows.append(dateparse_row())
    with tempfile.TemporaryDirectory(prefix="autotag-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for n in sizes:
            bench_size(n, tmp, rows, details, core_loop=n == max(sizes))
            print(f"done {n} ({timedelta(seconds=int(time.perf_counter() - started))})", file=sys.stderr)
        if args.million:
            bench_million(args.million, tmp, rows, details)
        if args.lost:
            bench_lost_writes(args.lost, tmp, rows, details)
        if args.first_run:
            # What a person sees (bench/first_run.py): an admin key, then a user key's fixed spacing.
            for admin in (True, False):
                run = capture_first_run(args.first_run, admin=admin)
                rows.append(run.row())
                details[f"first_run_{args.first_run}_{'admin' if admin else 'user'}"] = {
                    k: v for k, v in run.__dict__.items() if k != "lines"
                }
    table = write_table(rows, argv)
    print(table)
    if not args.no_write:
        (ROOT / "docs" / "benchmarks.md").write_text(table, encoding="utf-8")
        (ROOT / "bench" / "last-run.json").write_text(json.dumps(details, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
