"""Serving the review page: a socket on 127.0.0.1 (a free port unless one is asked for), uvicorn on it,
and the URL with its token.

``ReviewServer`` runs in a background thread (tests, the demo); ``serve`` runs it in the foreground
until Ctrl-C (the CLI).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from autotag.session import Session
from autotag.web.app import create_app
from autotag.web.security import new_token
from autotag.web.state import ReviewState
from autotag.web.thumbs import ThumbnailCache, cache_dir_for
from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url

DEFAULT_HOST = "127.0.0.1"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror} (choose another --port)") from None
    sock.listen(64)
    return sock


def _web_base(session: Session) -> Callable[[], str]:
    def base() -> str:
        if session.cfg.immich.url:
            return normalize_server_url(session.cfg.immich.url)
        return session.client.base_url

    return base


def _thumbnail_fetcher(session: Session, parallel: int = 6) -> Callable[[str], tuple[bytes, str]]:
    """Thumbnails over clients of their own (one per server thread: an HTTP client is not shared across
    threads), at most ``parallel`` requests at a time, so images load while the session's client pushes."""
    local = threading.local()
    gate = threading.Semaphore(parallel)

    def fetch(asset_id: str) -> tuple[bytes, str]:
        with gate:
            own: Session | None = getattr(local, "session", None)
            if own is None:
                own = local.session = dataclasses.replace(session)
            return own.client.thumbnail(asset_id)

    return fetch


class ReviewServer:
    """The review page for ``session``, served on ``host:port`` (port 0: a free one)."""

    def __init__(self, session: Session, *, host: str = DEFAULT_HOST, port: int = 0, token: str | None = None) -> None:
        self.session = session
        self.host = host
        self.token = token or new_token()
        self.state = ReviewState(
            session,
            ThumbnailCache(cache_dir_for(session.db_path), _thumbnail_fetcher(session)),
            web_base=_web_base(session),
        )
        self.app: ASGIApp = create_app(self.state, self.token, loopback_only=is_loopback(host))
        self.sock = _bind(host, port)
        self.port = int(self.sock.getsockname()[1])
        self.server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _server(self) -> uvicorn.Server:
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        return self.server

    @property
    def origin(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
        return f"http://{shown}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/?token={self.token}"

    def run(self) -> None:
        """Serve in this thread until Ctrl-C (uvicorn handles the signal)."""
        try:
            self._server().run(sockets=[self.sock])
        finally:
            # Ctrl-C during an apply: the pusher finishes its batch and stops; what is left stays queued
            # in the outbox for the next `autotag push`.
            self.session.should_stop = lambda: True
            self.state.wait_apply(timeout=120)
            self.sock.close()

    def start(self, timeout: float = 10.0) -> ReviewServer:
        server = self._server()
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [self.sock]}, daemon=True, name=f"review-{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the review server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.state.wait_apply(timeout=30)
        self.sock.close()

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()
