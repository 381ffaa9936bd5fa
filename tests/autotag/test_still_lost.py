""""Still lost" is what the server lacks when the push ends: the count comes from the push's last request.

The server here runs its jobs (the sidecar writes that undo a racing tag write) at every request, after
the client's writes, as a real server does in the background: a count taken from a read that a write
follows could be stale by the time it is printed, so nothing but reads may follow the final one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from autotag import session as ops
from autotag.config import AutotagConfig, PushConfig
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy
from immich_mirror.fake.app import create_app
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.test_loop import CONFLICT, UNKNOWN, expected, server_markers
from tests.autotag.test_lost_writes import make_library, user_fixes
from tests.helpers import API_KEY


class RequestLog:
    """ASGI wrapper noting each request."""

    def __init__(self, app: Any, library: FakeLibrary) -> None:
        self.app, self.library = app, library
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope.get("type") == "http":
            self.seen.append((scope["method"], scope["path"]))


def lacking(lib: FakeLibrary) -> int:
    unknown, conflict = expected(lib)
    return len(server_markers(lib, UNKNOWN) ^ unknown) + len(server_markers(lib, CONFLICT) ^ conflict)


def session_on(tmp_path: Path, lib: FakeLibrary, log: list[RequestLog]) -> Session:
    def client() -> ImmichClient:
        app = RequestLog(create_app(lib, version="3.1.0"), lib)
        log.append(app)
        http = TestClient(app, base_url="http://fake.test")
        return ImmichClient("http://fake.test", API_KEY, http=http, retry=RetryPolicy.no_sleep(4))

    push = PushConfig(settle_seconds_per_asset=0, settle_max_seconds=0, verify_rounds=3)
    return Session(cfg=AutotagConfig(push=push), db_path=tmp_path / "m.db", client_factory=client,
                   sleep=lambda _s: None)


@pytest.mark.parametrize("seed", range(6))
def test_still_lost_equals_what_the_server_lacks_when_the_push_ends(tmp_path: Path, seed: int) -> None:
    # Async jobs due at once: each runs at the next request, so the server moves between requests.
    lib = make_library(seed, rate=0.5, window_ms=60_000, jobs="async", admin=False, job_delay_s=0.0)
    logs: list[RequestLog] = []
    session = session_on(tmp_path, lib, logs)
    try:
        ops.run(session)
        user_fixes(lib)
        result = ops.run(session)
    finally:
        session.close()
    seen = logs[-1].seen
    final_read = max(i for i, (method, path) in enumerate(seen) if path == "/api/search/metadata")
    assert all(method == "GET" for method, _path in seen[final_read + 1 :]), seen[final_read:]
    assert result.push.still_lost == lacking(lib)
    lib.settle()  # nothing was left for the server to do after that read
    assert result.push.still_lost == lacking(lib)
