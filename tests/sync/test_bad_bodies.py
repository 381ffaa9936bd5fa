"""One bad answer in the middle of a walk (a body cut short, a proxy's HTML page, text that is not JSON)
is retried like a 502: the sync finishes in one run, and the mirror equals the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotag import session as ops
from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.generate import generate_library
from tests.helpers import assert_mirror_equals_server
from tests.reliability.schedules import session_for


@pytest.mark.parametrize("seed", range(3))
def test_a_sync_through_bad_bodies_finishes_in_one_run(tmp_path: Path, seed: int) -> None:
    lib = generate_library(1200, seed=seed)
    plan = FaultPlan.parse(
        "truncate:0.08@POST /api/search/*,html:0.05@POST /api/search/*,non-json:0.05@GET *,truncate:0.05@GET *",
        seed=seed,
    )
    session = session_for(lib, tmp_path / "m.db", "3.1.0", plan)
    try:
        ops.sync(session, full=True)
        assert sum(plan.injected.values()) > 0
        assert_mirror_equals_server(session.engine, lib)
    finally:
        session.close()
