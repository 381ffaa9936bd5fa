"""The pusher waits only for the queues tag writes feed, and verifies only what the server confirmed."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from autotag import session as ops
from autotag.config import PushConfig
from autotag.outbox import enqueue_rows, start_run
from autotag.push import TAG_WRITE_QUEUES, tag_write_backlog
from autotag.session import Session
from immich_mirror.api.models import BulkIdResult
from immich_mirror.errors import ServerError
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.test_lost_writes import make_library, make_session, markers_match_plan, user_fixes

MEME = "autotag_input_meme"


def _queue(name: str, *, is_paused: bool = False, **counts: int) -> dict[str, Any]:
    stats = dict.fromkeys(("active", "completed", "delayed", "failed", "paused", "waiting"), 0)
    stats.update(counts)
    return {"name": name, "isPaused": is_paused, "statistics": stats}


# What a busy real server shows while a push runs: ML, thumbnails and an import working, one queue paused.
BUSY_ELSEWHERE = {
    q["name"]: q
    for q in (
        _queue("thumbnailGeneration", waiting=5000, active=4),
        _queue("smartSearch", is_paused=True, waiting=800),
        _queue("faceDetection", active=2, delayed=30),
        _queue("library", active=1, waiting=12000),
        _queue("videoConversion", is_paused=True, paused=40),
    )
}


def with_extra_queues(session: Session, extra: dict[str, dict[str, Any]]) -> list[int]:
    """Merge ``extra`` into every ``GET /queues`` answer; the returned list counts the calls."""
    client = session.client
    real = client.queues
    calls: list[int] = []

    def queues() -> dict[str, Any] | None:
        calls.append(1)
        answer = real()
        return None if answer is None else {**answer, **extra}

    client.queues = queues  # type: ignore[method-assign]
    return calls


# ------------------------------------------------------------------ which queues count


def test_only_the_tag_write_queues_count() -> None:
    queues = {
        **BUSY_ELSEWHERE,
        "sidecar": _queue("sidecar", waiting=2, completed=900, failed=3),
        "metadataExtraction": _queue("metadataExtraction", active=1, delayed=1),
    }
    backlog = tag_write_backlog(queues)
    assert backlog.known and backlog.jobs == 4 and backlog.paused == ()
    assert tag_write_backlog(BUSY_ELSEWHERE).jobs == 0
    assert not tag_write_backlog(BUSY_ELSEWHERE).known


def test_a_paused_tag_write_queue_keeps_its_jobs_and_is_named() -> None:
    backlog = tag_write_backlog({"sidecar": _queue("sidecar", is_paused=True, paused=7), **BUSY_ELSEWHERE})
    assert backlog.jobs == 7 and backlog.paused == ("sidecar",)


def test_the_fake_lists_the_real_queue_names_in_the_real_shape(tmp_path: Path) -> None:
    lib = make_library(0, rate=0.0, window_ms=0, jobs="async", admin=True)
    lib.job_delay_s = 60.0
    session = make_session(tmp_path, lib, PushConfig())
    queues = session.client.queues()
    assert queues is not None
    assert set(TAG_WRITE_QUEUES) | {"thumbnailGeneration", "smartSearch", "library"} <= set(queues)
    for queue in queues.values():
        assert set(queue) == {"name", "isPaused", "statistics"}
        assert set(queue["statistics"]) == {"active", "completed", "delayed", "failed", "paused", "waiting"}
    assert tag_write_backlog(queues).jobs == 0
    meme = lib.tag_by_value(MEME)
    assert meme is not None
    lib.tag_assets([meme.id], [a for a in lib.assets if a not in lib.tag_members[meme.id]][:3])
    assert tag_write_backlog(session.client.queues() or {}).jobs > 0
    lib.settle()
    assert tag_write_backlog(session.client.queues() or {}).jobs == 0


# ------------------------------------------------------------------ settling


def test_busy_unrelated_queues_do_not_delay_the_push(tmp_path: Path) -> None:
    lib = make_library(2, rate=0.5, window_ms=2000, jobs="async", admin=True)
    cap = 5.0
    session = make_session(tmp_path, lib, PushConfig(settle_max_seconds=cap, verify_rounds=3))
    calls = with_extra_queues(session, BUSY_ELSEWHERE)
    ops.run(session)
    user_fixes(lib)
    started = time.monotonic()
    result = ops.run(session)
    elapsed = time.monotonic() - started
    # Counting the other queues, every settle would poll until the cap (hundreds of polls, 5 s each).
    assert elapsed < cap
    assert len(calls) < 100
    lib.settle()
    assert result.push.still_lost == 0 and markers_match_plan(lib)


def test_a_paused_sidecar_queue_waits_up_to_the_cap_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib = make_library(3, rate=0.0, window_ms=0, jobs="immediate", admin=True)
    cap = 0.3
    session = make_session(tmp_path, lib, PushConfig(settle_max_seconds=cap, verify_rounds=2))
    with_extra_queues(session, {"sidecar": _queue("sidecar", is_paused=True, paused=7)})
    ops.sync(session)
    ops.classify(session, dry_run=False)
    with caplog.at_level(logging.WARNING, logger="autotag.push"):
        started = time.monotonic()
        result = ops.push(session)
        elapsed = time.monotonic() - started
    assert result.sent > 0
    assert elapsed >= cap  # at least the verify's settle waited the cap out
    paused = [r for r in caplog.records if "paused" in r.getMessage()]
    assert len(paused) == 1 and "sidecar" in paused[0].getMessage()


# ------------------------------------------------------------------ verification


def _enqueue(session: Session, kind: str, assets: Sequence[str]) -> None:
    with session.engine.begin() as conn:
        run_id = start_run(conn, "test")
        enqueue_rows(conn, run_id, [{"kind": kind, "target": MEME, "asset_id": a} for a in assets])


def _members(lib: FakeLibrary) -> set[str]:
    meme = lib.tag_by_value(MEME)
    assert meme is not None
    return set(lib.tag_members[meme.id])


@pytest.mark.parametrize("error", ["no_permission", "unknown"])
def test_a_refused_removal_is_dead_not_lost(tmp_path: Path, error: str) -> None:
    lib = make_library(0, rate=0.0, window_ms=0, jobs="immediate", admin=False)
    push = PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0, verify_rounds=3)
    session = make_session(tmp_path, lib, push)
    ops.sync(session)
    tagged = sorted(_members(lib))
    refused = tagged[0]
    client = session.client
    real = client.untag_assets

    def untag(tag_id: str, ids: Sequence[str]) -> list[BulkIdResult]:
        # The server refuses one id (and so keeps its tag), and removes the others.
        answer = real(tag_id, [i for i in ids if i != refused])
        return [*answer, BulkIdResult(id=refused, success=False, error=error)]

    client.untag_assets = untag  # type: ignore[method-assign]
    _enqueue(session, "tag_remove", tagged)
    result = ops.push(session)
    assert _members(lib) == {refused}
    assert (result.sent, result.dead, result.failed) == (len(tagged) - 1, 1, 0)
    assert (result.writes_lost, result.writes_reapplied, result.still_lost) == (0, 0, 0)


def test_a_removal_answered_not_found_holds_and_is_not_lost(tmp_path: Path) -> None:
    lib = make_library(0, rate=0.0, window_ms=0, jobs="immediate", admin=False)
    session = make_session(tmp_path, lib, PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0))
    ops.sync(session)
    untagged = sorted(set(lib.assets) - _members(lib))[:2]
    _enqueue(session, "tag_remove", untagged)
    result = ops.push(session)
    assert (result.sent, result.dead, result.writes_lost, result.still_lost) == (2, 0, 0, 0)


def test_a_failed_addition_is_not_verified(tmp_path: Path) -> None:
    lib = make_library(0, rate=0.0, window_ms=0, jobs="immediate", admin=False)
    session = make_session(tmp_path, lib, PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0))
    ops.sync(session)
    client = session.client

    def refuse(tag_ids: Sequence[str], asset_ids: Sequence[str]) -> int:
        raise ServerError("Internal server error", status=500, method="PUT", path="/api/tags/assets")

    client.tag_assets_bulk = refuse  # type: ignore[method-assign]
    _enqueue(session, "tag_add", sorted(set(lib.assets) - _members(lib))[:3])
    result = ops.push(session)
    assert (result.sent, result.failed) == (0, 3)
    assert (result.writes_lost, result.still_lost) == (0, 0)
