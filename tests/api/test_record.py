"""The cassette builder: conversion of recordings, and live re-recording with secrets scrubbed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from immich_mirror.api import record

from .conftest import API_KEY


def _rec(method: str, url: str, status: int, body: Any, auth: str = "x-api-key") -> dict[str, Any]:
    return {
        "request": {"method": method, "url": url, "auth": auth},
        "status": status,
        "content_type": "application/json; charset=utf-8",
        "body": body,
    }


def test_from_recordings(tmp_path: Path) -> None:
    src = tmp_path / "rec"
    src.mkdir()
    files = {
        "server_version": _rec(
            "GET", "/api/server/version", 200, {"major": 3, "minor": 1, "patch": 0}, "none"
        ),
        "tags_list": _rec(
            "GET",
            "/api/tags",
            200,
            [{"id": "t", "name": "a", "value": "a"}, "... 5 more items trimmed (total 6)"],
        ),
        "shared_links_list": _rec("GET", "/api/shared-links", 200, [{"id": "s", "key": "abc123secret"}]),
        "sync_ack_get": _rec("GET", "/api/sync/ack", 200, [], "bearer"),
        "_timings": {"search": {"median_s": 1}},
    }
    for name, data in files.items():
        (src / f"{name}.json").write_text(json.dumps(data))
    written = record.from_recordings(src, tmp_path / "out")
    assert sorted(p.name for p in written) == [
        "server_version.yaml",
        "shared_links_list.yaml",
        "tags_list.yaml",
    ]
    doc = yaml.safe_load((tmp_path / "out/v3.1.0/tags_list.yaml").read_text())
    assert [i["request"]["uri"] for i in doc["interactions"]] == [
        "http://immich.test/api/server/version",
        "http://immich.test/api/tags",
    ]
    assert json.loads(doc["interactions"][1]["response"]["body"]["string"]) == [
        {"id": "t", "name": "a", "value": "a"}
    ]
    assert "abc123secret" not in (tmp_path / "out/v3.1.0/shared_links_list.yaml").read_text()


class _FakeImmich(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {
        "/api/server/version": {"major": 3, "minor": 1, "patch": 0, "prerelease": None},
        "/api/server/ping": {"res": "pong"},
        "/api/server/about": {"version": "v3.1.0"},
        "/api/users/me": {"id": "me", "email": "me@x", "name": "Me"},
        "/api/api-keys/me": {"id": "k", "name": "key", "permissions": ["all"]},
        "/api/assets/statistics": {"images": 1, "videos": 0, "total": 1},
        "/api/albums": [],
        "/api/tags": [],
        "/api/search/metadata": {"assets": {"items": [{"id": "a"}], "nextPage": None}},
        "/api/duplicates": [],
        "/api/shared-links": [{"id": "s", "key": "share-secret-key", "type": "ALBUM"}],
    }

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps(self.answers[self.path.split("?")[0]]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "immich_access_token=should-not-be-kept")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def live_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeImmich)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_live_mode_scrubs_every_secret(tmp_path: Path, live_server: str) -> None:
    written = record.live(tmp_path, live_server, API_KEY)
    assert len(written) == 12 and all(p.parent.name == "v3.1.0" for p in written)
    for path in written:
        text = path.read_text()
        assert API_KEY not in text and "x-api-key" not in text.lower()
        assert "should-not-be-kept" not in text and "share-secret-key" not in text
    links = yaml.safe_load((tmp_path / "v3.1.0/live_shared_links_list.yaml").read_text())
    assert "REDACTED" in links["interactions"][-1]["response"]["body"]["string"]
