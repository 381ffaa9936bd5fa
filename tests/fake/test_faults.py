"""The fault-injection middleware, in process and over a real socket."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient

from immich_mirror.fake import FakeLibrary, create_app
from immich_mirror.fake.faults import FaultMiddleware, FaultPlan, FaultRule
from immich_mirror.fake.runner import running_fake_server

KEY = {"x-api-key": "fake-api-key"}


def faulty(lib: FakeLibrary, spec: str, seed: int = 0) -> TestClient:
    return TestClient(FaultMiddleware(create_app(lib), FaultPlan.parse(spec, seed)), headers=KEY)


def _tag_call(lib: FakeLibrary) -> tuple[dict[str, list[str]], str]:
    asset = lib.add_asset("x.jpg")
    tag = lib.create_tag("meme")
    return {"tagIds": [tag.id], "assetIds": [asset.id]}, tag.id


def test_status_and_retry_after() -> None:
    lib = FakeLibrary()
    assert faulty(lib, "503@/api/server/ping").get("/api/server/ping").status_code == 503
    answer = faulty(lib, "429:1:7").get("/api/users/me")
    assert (answer.status_code, answer.headers["retry-after"]) == (429, "7")
    assert faulty(lib, "500@/api/tags").get("/api/server/ping").status_code == 200


def test_drop_after_applies_the_change_drop_before_does_not() -> None:
    lib = FakeLibrary()
    body, tag_id = _tag_call(lib)
    with pytest.raises(httpx.RemoteProtocolError):
        faulty(lib, "drop-before@PUT /api/tags/*").put("/api/tags/assets", json=body)
    assert not lib.tag_members[tag_id]
    with pytest.raises(httpx.RemoteProtocolError):
        faulty(lib, "drop-after@PUT /api/tags/*").put("/api/tags/assets", json=body)
    assert lib.tag_members[tag_id]


def test_bad_bodies() -> None:
    lib = FakeLibrary()
    truncated = faulty(lib, "truncate").get("/api/users/me")
    with pytest.raises(ValueError):
        truncated.json()
    with pytest.raises(ValueError):
        faulty(lib, "non-json").get("/api/users/me").json()
    page = faulty(lib, "html").get("/api/users/me")
    assert page.headers["content-type"].startswith("text/html") and "Sign in" in page.text


def test_rate_is_seeded_and_spec_round_trips() -> None:
    def failures(seed: int) -> list[int]:
        c = faulty(FakeLibrary(), "502:0.3", seed)
        return [c.get("/api/server/ping").status_code for _ in range(60)]

    first = failures(4)
    assert first == failures(4)
    assert 5 <= first.count(502) <= 35
    plan = FaultPlan.parse("503:0.1@/api/search/*,latency:1:0.05,drop-after:0.02@PUT *", seed=1)
    assert FaultPlan.parse(plan.to_spec()).rules == plan.rules
    assert plan.rules[1] == FaultRule("latency", 1.0, "*", 500, 0.05)
    with pytest.raises(ValueError):
        FaultPlan.parse("explode:1")


def test_dropped_connection_over_a_socket_is_a_transport_error() -> None:
    lib = FakeLibrary()
    body, tag_id = _tag_call(lib)
    plan = FaultPlan.parse("drop-after@PUT /api/tags/assets")
    with running_fake_server(lib, faults=plan) as (url, key), httpx.Client(base_url=url) as http:
        assert http.get("/api/server/ping").json() == {"res": "pong"}
        with pytest.raises(httpx.TransportError):
            http.put("/api/tags/assets", json=body, headers={"x-api-key": key})
    assert lib.tag_members[tag_id]
