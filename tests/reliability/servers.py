"""Servers for reliability tests: the fake Immich (optionally over TLS, optionally answering some routes
its own way) on a loopback port in a background thread, and a self-signed certificate made with openssl."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from immich_mirror.fake.runner import bind_socket


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for CN=localhost / 127.0.0.1, valid one day, written into ``directory``."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class Override:
    """ASGI middleware: answer ``(method, path)`` with a canned ``(status, body, content_type)``."""

    def __init__(self, app: ASGIApp, answers: dict[tuple[str, str], tuple[int, Any, str]]) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            canned = self.answers.get((scope["method"], scope["path"]))
            if canned is not None:
                status, body, ctype = canned
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", ctype.encode()),
                                        (b"content-length", str(len(raw)).encode())]})
                await send({"type": "http.response.body", "body": raw})
                return
        await self.app(scope, receive, send)


@contextmanager
def serve(app: ASGIApp, *, tls: tuple[Path, Path] | None = None) -> Iterator[int]:
    """Serve ``app`` on a free 127.0.0.1 port (over TLS with ``(cert, key)``); yields the port."""
    sock = bind_socket()
    port = int(sock.getsockname()[1])
    kw: dict[str, Any] = {}
    if tls is not None:
        kw = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1]), "ssl_cert_reqs": ssl.CERT_NONE}
    config = uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False, **kw)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class RequestLog:
    """ASGI middleware: remember ``(method, path)`` of every request, to check what the tool never sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)
