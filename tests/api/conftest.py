"""Shared helpers for the client tests: a routed MockTransport and a key-leak guard."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from immich_mirror import errors
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy

API_KEY = "sk-test-7f3c9a1e5b2d4f60-SECRET"
BASE = "http://immich.test"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
VERSIONS = ("2.7.5", "3.1.0")

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(scope="session", autouse=True)
def no_error_message_contains_the_key() -> Iterator[None]:
    """Record every error message built during the client tests and prove none carries the key."""
    messages: list[str] = []
    original = errors.ImmichMirrorError.__init__

    def recording_init(self: errors.ImmichMirrorError, message: str) -> None:
        original(self, message)
        messages.append(self.message)

    errors.ImmichMirrorError.__init__ = recording_init  # type: ignore[method-assign]
    try:
        yield
    finally:
        errors.ImmichMirrorError.__init__ = original  # type: ignore[method-assign]
    leaked = [m for m in messages if API_KEY in m]
    assert not leaked, leaked


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def version_body(version: tuple[int, int, int]) -> dict[str, Any]:
    body: dict[str, Any] = dict(zip(("major", "minor", "patch"), version, strict=True))
    if version[0] >= 3:
        body["prerelease"] = None
    return body


class Recorder:
    """A MockTransport handler: answers /server/version itself, hands the rest to ``handler``."""

    def __init__(self, handler: Handler, version: tuple[int, int, int]) -> None:
        self.handler = handler
        self.version = version
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers.get("x-api-key") == API_KEY
        if request.url.path == "/api/server/version":
            return json_response(200, version_body(self.version))
        self.requests.append(request)
        return self.handler(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture
def make_client() -> Callable[..., tuple[ImmichClient, Recorder]]:
    def make(
        handler: Handler, version: tuple[int, int, int] = (3, 1, 0), retry: RetryPolicy | None = None
    ) -> tuple[ImmichClient, Recorder]:
        recorder = Recorder(handler, version)
        http = httpx.Client(transport=httpx.MockTransport(recorder))
        client = ImmichClient(BASE, API_KEY, http=http, retry=retry or RetryPolicy.no_sleep())
        return client, recorder

    return make


def cassette_interactions(version: str, name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((CASSETTES / f"v{version}" / f"{name}.yaml").read_text())
    interactions: list[dict[str, Any]] = doc["interactions"]
    return interactions


def response_from_cassette(version: str, name: str) -> httpx.Response:
    """The last interaction of a cassette as an httpx.Response (with its request attached)."""
    inter = cassette_interactions(version, name)[-1]
    req, resp = inter["request"], inter["response"]
    request = httpx.Request(req["method"], req["uri"], content=(req["body"] or "").encode())
    headers = [(k, v) for k, vs in resp["headers"].items() for v in vs]
    return httpx.Response(
        resp["status"]["code"], headers=headers, content=resp["body"]["string"].encode(), request=request
    )
