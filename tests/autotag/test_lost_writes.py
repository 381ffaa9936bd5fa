"""Push against a server that loses confirmed tag writes (API-NOTES 0b): combine, space, verify."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import AutotagConfig, PushConfig
from autotag.session import Session
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.test_loop import CONFLICT, UNKNOWN, expected, server_markers
from tests.helpers import fake_client

# 20 seeded schedules each; the first 4 run in the default suite, all in `make test-slow`.
SEEDS = [pytest.param(s, marks=pytest.mark.slow) if s >= 4 else s for s in range(20)]


def make_library(
    seed: int, *, rate: float, window_ms: float, jobs: str, admin: bool, job_delay_s: float = 0.01
) -> FakeLibrary:
    lib = FakeLibrary(
        seed=seed, lost_writes_rate=rate, lost_writes_window_ms=window_ms, jobs=jobs, job_delay_s=job_delay_s
    )
    lib.users[lib.owner_id].is_admin = admin
    ids = [lib.add_asset(f"IMG_2020010{i % 9}_12{i:04d}.jpg").id for i in range(24)]
    lib.create_album("2020-01-01 New year", asset_ids=ids[:4])
    lib.create_album("2020-02-02 Snow", asset_ids=ids[3:6])
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], ids[6:8])
    lib.settle()
    return lib


def make_session(
    tmp_path: Path, lib: FakeLibrary, push: PushConfig, version: str = "3.1.0", *, real_sleep: bool = False
) -> Session:
    cfg = AutotagConfig(push=push)
    return Session(
        cfg=cfg,
        db_path=tmp_path / "m.db",
        client_factory=lambda: fake_client(lib, version),
        sleep=time.sleep if real_sleep else lambda s: time.sleep(min(s, 0.02)),
    )


def user_fixes(lib: FakeLibrary) -> None:
    """Between runs the user reorganises: assets that carry a marker now need the other one too."""
    unknown, _ = expected(lib)
    albums = sorted(lib.albums.values(), key=lambda a: a.name)
    moved = sorted(unknown)[:6]
    for album in albums[:2]:
        lib.add_to_album(album.id, moved[:3])  # in two date albums: unknown -> conflict (add + remove)
    lib.add_to_album(albums[0].id, moved[3:6])  # classified now: unknown removed


def markers_match_plan(lib: FakeLibrary) -> bool:
    unknown, conflict = expected(lib)
    return server_markers(lib, UNKNOWN) == unknown and server_markers(lib, CONFLICT) == conflict


@pytest.mark.parametrize("seed", SEEDS)
def test_admin_key_waits_for_the_queues_and_nothing_is_lost(tmp_path: Path, seed: int, version: str) -> None:
    lib = make_library(seed, rate=0.5, window_ms=2000, jobs="async", admin=True)
    session = make_session(tmp_path, lib, PushConfig(verify_rounds=3), version)
    ops.run(session)
    user_fixes(lib)
    result = ops.run(session)
    lib.settle()
    assert markers_match_plan(lib)
    assert result.push.still_lost == 0
    again = ops.run(session)
    lib.settle()
    assert again.push.sent == 0 and markers_match_plan(lib)


@pytest.mark.parametrize("seed", SEEDS)
def test_user_key_spaced_by_time_ends_with_the_plan(tmp_path: Path, seed: int, version: str) -> None:
    # No queue access: the pusher spaces its waves by a time per asset touched, then verifies. Here each
    # asset's jobs take 0.1 s on the server, and the pusher waits 0.03 s per asset, really.
    lib = make_library(seed, rate=0.5, window_ms=500, jobs="async", admin=False, job_delay_s=0.1)
    session = make_session(tmp_path, lib, PushConfig(settle_seconds_per_asset=0.03), version, real_sleep=True)
    ops.run(session)
    user_fixes(lib)
    result = ops.run(session)
    lib.settle()
    assert markers_match_plan(lib)
    # whatever the server dropped (writes of the runs before land in the window too) was found again
    assert result.push.still_lost == 0 and result.push.writes_reapplied == result.push.writes_lost
    assert ops.run(session).push.sent == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_without_spacing_losses_are_found_and_reapplied(tmp_path: Path, seed: int) -> None:
    # A user key (no queue access) and no waiting at all: writes race and the server drops some.
    lib = make_library(seed, rate=0.5, window_ms=60_000, jobs="immediate", admin=False)
    push = PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0, verify_rounds=3)
    session = make_session(tmp_path, lib, push)
    ops.run(session)
    user_fixes(lib)
    lost_before = lib.lost_writes
    result = ops.run(session)
    # What the pusher reports as still lost is exactly what the server lacks.
    unknown, conflict = expected(lib)
    actual = len(server_markers(lib, UNKNOWN) ^ unknown) + len(server_markers(lib, CONFLICT) ^ conflict)
    assert result.push.still_lost == actual
    assert result.push.writes_lost >= (1 if lib.lost_writes > lost_before else 0)
    # Once the server stops racing (writes spaced), the next runs converge and then change nothing.
    lib.lost_writes_rate = 0.0
    ops.run(session)
    assert markers_match_plan(lib)
    assert ops.run(session).push.sent == 0


def test_losses_are_logged_and_undo_restores_the_earlier_state(tmp_path: Path) -> None:
    lib = make_library(4, rate=0.5, window_ms=60_000, jobs="immediate", admin=False)
    push = PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0, verify_rounds=4)
    session = make_session(tmp_path, lib, push)
    ops.run(session)
    user_fixes(lib)
    before = lib.snapshot()["asset_tags"]
    result = ops.run(session)
    with session.engine.connect() as conn:
        notes = dict(
            conn.execute(text("SELECT note, COUNT(*) FROM changes WHERE note IS NOT NULL GROUP BY note")).all()
        )
    if result.push.writes_reapplied:
        assert notes.get("re-applied after a lost write", 0) == result.push.writes_reapplied
    lib.lost_writes_rate = 0.0
    ops.undo(session, run_id=None, apply=True)
    assert lib.snapshot()["asset_tags"] == before


def test_no_whole_tag_delete_is_ever_issued(tmp_path: Path) -> None:
    lib = make_library(1, rate=0.3, window_ms=60_000, jobs="immediate", admin=False)
    session = make_session(tmp_path, lib, PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0))
    client = session.client

    def refuse(tag_id: str) -> None:
        raise AssertionError(f"the pusher deleted tag {tag_id}")

    client.delete_tag = refuse  # type: ignore[method-assign]
    ops.run(session)
    user_fixes(lib)
    ops.run(session)
    ops.undo(session, run_id=None, apply=True)
