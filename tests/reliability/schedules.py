"""Seeded fault schedules: faulty runs with the server changing between them, then one clean run, then checks.

A schedule (one seed) draws 1-4 fault rules (5xx, 429, connection dropped before or after the change was
applied, truncated or non-JSON bodies, an HTML page) with random rates and endpoint patterns, and a
library with albums, input tags, hidden and trashed assets. It then makes three faulty ``run``s, each in
a new session (as separate CLI invocations would be), changing the server behind the tool's back before
each one, and finally one ``run`` with the faults off. ``check`` asserts what the tool promises:

* the mirror equals the server (assets, albums, members, tags, links), after an *incremental* sync;
* the markers on the server are exactly those an independent reading of the rules gives;
* no effect was applied twice and none went unlogged: per (asset, marker), the ``changes`` log alternates
  add, remove, add, ... starting with add, and its last entry is what the server holds;
* nothing is left to push, and ``PRAGMA integrity_check`` is ok.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

from sqlalchemy import text
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from autotag import session as ops
from autotag.config import DEFAULT_CONFLICT_MARKER, DEFAULT_UNCLASSIFIED_MARKER, AutotagConfig
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy
from immich_mirror.db.engine import integrity_ok
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.app import create_app
from immich_mirror.fake.faults import FaultMiddleware, FaultPlan, FaultRule
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import API_KEY, assert_mirror_equals_server

KINDS = ["500", "502", "503", "504", "429", "drop-before", "drop-after", "truncate", "non-json", "html"]
PATTERNS = ["*", "*", "/api/search/*", "PUT *", "DELETE *", "/api/tags*", "/api/albums*", "GET *", "POST *",
            "PUT /api/tags/assets"]
MARKERS = (DEFAULT_UNCLASSIFIED_MARKER, DEFAULT_CONFLICT_MARKER)
FAULTY_RUNS = 3


def build_library(rng: Random, version: str) -> FakeLibrary:
    lib = FakeLibrary(seed=rng.randrange(10**6), version=version)
    ids = [lib.add_asset(f"IMG_2019{i:04d}.jpg").id for i in range(rng.randint(15, 40))]
    for n in range(rng.randint(1, 4)):
        name = rng.choice(["2019-06-01 Beach", "2020-01 Ski", "Best of", "Family", "2018-12-24 Xmas"])
        lib.create_album(f"{name} {n}" if name[0].isdigit() else name, asset_ids=rng.sample(ids, rng.randint(0, 8)))
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], rng.sample(ids, rng.randint(0, 6)))
    lib.trash(rng.sample(ids, rng.randint(0, 2)))
    lib.set_visibility(rng.sample(ids, rng.randint(0, 2)), rng.choice(["hidden", "archive"]))
    return lib


def draw_plan(rng: Random, seed: int) -> FaultPlan:
    rules = []
    for kind in rng.sample(KINDS, rng.randint(1, 4)):
        rule = FaultRule(kind, rate=rng.uniform(0.03, 0.25), pattern=rng.choice(PATTERNS), seconds=0)
        if kind.isdigit() and kind != "429":
            rule.kind, rule.status = "status", int(kind)
        rules.append(rule)
    return FaultPlan(rules, seed)


def mutate(lib: FakeLibrary, rng: Random) -> None:
    """A few changes made on the server by someone else, between two runs."""
    live = [a for a, x in lib.assets.items() if x.deleted_at is None]
    meme = lib.tag_by_value("autotag_input_meme")
    for _ in range(rng.randint(0, 4)):
        step = rng.randrange(9)
        if step == 0:
            lib.add_asset(f"IMG_2021{rng.randrange(10**4):04d}.jpg")
        elif step == 1 and live:
            lib.trash([rng.choice(live)])
        elif step == 2 and lib.albums and live:
            lib.add_to_album(rng.choice(sorted(lib.albums)), rng.sample(live, min(len(live), 3)))
        elif step == 3 and lib.albums:
            album = lib.albums[rng.choice(sorted(lib.albums))]
            if album.members:
                lib.remove_from_album(album.id, [rng.choice(sorted(album.members))])
        elif step == 4 and meme and live:
            lib.tag_assets([meme.id], [rng.choice(live)])
        elif step == 5 and meme and lib.tag_members.get(meme.id):
            lib.untag_assets([meme.id], [rng.choice(sorted(lib.tag_members[meme.id]))])
        elif step == 6 and lib.albums:
            lib.rename_album(rng.choice(sorted(lib.albums)), rng.choice(["2022-02-02 Party", "Misc"]))
        elif step == 7 and live:
            lib.purge([rng.choice(live)])
        elif step == 8:
            trashed = [a for a, x in lib.assets.items() if x.deleted_at is not None]
            if trashed:
                lib.restore([rng.choice(trashed)])


def expected_markers(lib: FakeLibrary) -> dict[str, set[str]]:
    """The default rules read independently of the SQL: which assets should carry which marker."""
    date_albums = [a for a in lib.albums.values() if a.name[:4].isdigit() and a.name[4:5] == "-"]
    meme = lib.tag_by_value("autotag_input_meme")
    memes = lib.tag_members.get(meme.id, set()) if meme else set()
    out: dict[str, set[str]] = {m: set() for m in MARKERS}
    for aid, a in lib.assets.items():
        if a.deleted_at is not None or a.visibility not in ("timeline", "archive") or a.owner_id != lib.owner_id:
            continue
        matches = sum(1 for al in date_albums if aid in al.members) + (1 if aid in memes else 0)
        if matches == 0:
            out[DEFAULT_UNCLASSIFIED_MARKER].add(aid)
        elif matches > 1:
            out[DEFAULT_CONFLICT_MARKER].add(aid)
    return out


def describe(lib: FakeLibrary, ids: set[str]) -> list[str]:
    out = []
    for aid in sorted(ids)[:3]:
        a = lib.assets[aid]
        albums = [al.name for al in lib.albums.values() if aid in al.members]
        out.append(f"{aid[:8]} {a.visibility} trashed={a.deleted_at is not None} albums={albums} "
                   f"tags={sorted(lib.tags[t].value for t in lib.asset_tags.get(aid, ()))}")
    return out


def in_scope(lib: FakeLibrary) -> set[str]:
    return {
        aid for aid, a in lib.assets.items()
        if a.deleted_at is None and a.visibility in ("timeline", "archive") and a.owner_id == lib.owner_id
    }


def server_markers(lib: FakeLibrary, *, scoped: bool = True) -> dict[str, set[str]]:
    """Marker members on the server; a marker on an out-of-scope asset is left alone (docs/rules.md)."""
    scope = in_scope(lib)
    out: dict[str, set[str]] = {}
    for value in MARKERS:
        tag = lib.tag_by_value(value)
        members = set(lib.tag_members.get(tag.id, set())) if tag else set()
        out[value] = members & scope if scoped else members
    return out


@dataclass
class Stats:
    schedules: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    failed_runs: int = 0  # faulty runs that ended in an error (the next run picked up)
    mutations_checked: int = 0  # (asset, marker) effects whose change history was checked
    changes: int = 0
    sent: int = 0
    confirmed: int = 0  # changes applied whose answer was lost, confirmed by the next sync

    def add(self, other: Stats) -> None:
        self.schedules += other.schedules
        for k, v in other.faults.items():
            self.faults[k] = self.faults.get(k, 0) + v
        self.failed_runs += other.failed_runs
        self.mutations_checked += other.mutations_checked
        self.changes += other.changes
        self.sent += other.sent
        self.confirmed += other.confirmed


def faulty_client(lib: FakeLibrary, version: str, plan: FaultPlan | None) -> ImmichClient:
    app: ASGIApp = create_app(lib, version=version)
    if plan is not None:
        app = FaultMiddleware(app, plan)
    http = TestClient(app, base_url="http://fake.test")
    return ImmichClient("http://fake.test", API_KEY, http=http, retry=RetryPolicy.no_sleep(4))


def session_for(lib: FakeLibrary, db: Path, version: str, plan: FaultPlan | None) -> Session:
    return Session(
        cfg=AutotagConfig(), db_path=db, client_factory=lambda: faulty_client(lib, version, plan),
        sleep=lambda _s: None,
    )


def run_schedule(seed: int, tmp: Path) -> Stats:
    rng = Random(seed)
    version = rng.choice(["2.7.5", "3.1.0", "3.2.2"])
    lib = build_library(rng, version)
    plan = draw_plan(rng, seed)
    db = tmp / f"mirror-{seed}.db"
    stats = Stats(schedules=1)
    for _ in range(FAULTY_RUNS):
        mutate(lib, rng)
        s = session_for(lib, db, version, plan)
        try:
            ops.run(s)
        except ImmichMirrorError:
            stats.failed_runs += 1
        finally:
            s.close()
    stats.faults = dict(plan.injected)
    mutate(lib, rng)
    clean = session_for(lib, db, version, None)
    try:
        ops.run(clean)
        check(clean, lib, stats)
    finally:
        clean.close()
    return stats


def check(s: Session, lib: FakeLibrary, stats: Stats) -> None:
    ctx = f"faults {stats.faults}"
    assert_mirror_equals_server(s.engine, lib)
    got, want = server_markers(lib), expected_markers(lib)
    for marker in MARKERS:
        extra, missing = got[marker] - want[marker], want[marker] - got[marker]
        assert not extra and not missing, (
            f"{marker}: on the server but not planned {describe(lib, extra)}, planned but missing "
            f"{describe(lib, missing)}; {ctx}"
        )
    with s.engine.connect() as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'failed')")).scalar()
        rows = conn.execute(
            text(
                "SELECT asset_id, kind, target, note FROM changes WHERE kind IN ('tag_add', 'tag_remove') ORDER BY id"
            )
        ).all()
        stats.sent += int(conn.execute(text("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")).scalar() or 0)
    assert left == 0, f"{left} mutation(s) still queued after a clean run; {ctx}"
    assert integrity_ok(s.engine)
    history: dict[tuple[str, str], list[str]] = defaultdict(list)
    for asset_id, kind, target, note in rows:
        # Without lost writes nothing is re-applied; a write whose answer was lost is confirmed by the next sync.
        assert note is None or note.startswith("applied; the server's answer was lost"), f"{note}; {ctx}"
        stats.confirmed += note is not None
        history[(asset_id, target)].append(kind)
    stats.changes += len(rows)
    on_server = server_markers(lib, scoped=False)
    for (asset_id, target), kinds in history.items():
        if asset_id not in lib.assets:  # purged on the server: its links went with it
            continue
        want = ["tag_add", "tag_remove"] * len(kinds)
        assert kinds == want[: len(kinds)], f"{target} on {asset_id} applied twice in a row: {kinds}; {ctx}"
        assert (kinds[-1] == "tag_add") == (asset_id in on_server.get(target, set())), (asset_id, target, kinds)
    for target, members in on_server.items():
        for asset_id in members:
            assert (asset_id, target) in history, f"{target} on {asset_id} is on the server but not in changes"
    stats.mutations_checked += len(history)
