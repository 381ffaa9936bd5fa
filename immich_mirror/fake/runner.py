"""Run the fake server for real (uvicorn on a loopback port) in a background thread.

`running_fake_server` is for tests and benchmarks that need a socket, such as a client with its
own transport, retries and timeouts; in-process tests can use `starlette.testclient.TestClient`
on `create_app(library)` instead.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from immich_mirror.fake.app import create_app
from immich_mirror.fake.faults import FaultMiddleware, FaultPlan
from immich_mirror.fake.library import FakeLibrary


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with Nagle off on each accepted socket.

    uvicorn writes a response's headers and body separately; with Nagle on, the body waits for the
    client's delayed ACK, and every request to the fake cost ~40 ms on loopback whatever it did (Node,
    and so Immich, turns Nagle off by default).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

class DateHeader:
    """Each response's ``Date`` as Node sends it: the time at that moment, in whole seconds.

    uvicorn's own header (switched off where the fake is served) is refreshed by its event loop about
    once a second, and lagged a busy fake by a second or more: earlier than stamps the same server had
    already given, where the push's verify takes it as the moment after which a stamp is someone else's
    change (sync/pushed.py). In-process tests (a TestClient) get no header, as before.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(time.time(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, dated if scope["type"] == "http" else send)


def build_app(library: FakeLibrary, version: str, faults: FaultPlan | None) -> ASGIApp:
    app: ASGIApp = create_app(library, version=version)
    return DateHeader(FaultMiddleware(app, faults) if faults is not None and faults.rules else app)


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free port (read it back from `getsockname()`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening now, not when uvicorn starts: the URL is printed before then, and a client that
    # connects at once (a test on a loaded machine) is queued in the backlog instead of refused.
    sock.listen(128)
    return sock


def default_key(library: FakeLibrary) -> str:
    """The secret of the first key of the library's owner (created with all permissions if none)."""
    for key in library.api_keys.values():
        if key.user_id == library.owner_id:
            return key.secret
    return library.add_api_key(library.owner_id).secret


@contextmanager
def running_fake_server(
    library: FakeLibrary,
    version: str = "3.1.0",
    api_key: str | None = None,
    faults: FaultPlan | None = None,
    startup_timeout_s: float = 10.0,
) -> Iterator[tuple[str, str]]:
    """Serve `library` on a free 127.0.0.1 port; yields `(base_url, api_key)`, stops on exit.

    `base_url` has no `/api` suffix (e.g. `http://127.0.0.1:38211`). `api_key` is created with all
    permissions if the library does not have it yet.
    """
    if api_key is None:
        api_key = default_key(library)
    elif api_key not in library.api_keys:
        library.add_api_key(library.owner_id, secret=api_key)
    sock = bind_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(library, version, faults), log_level="warning", lifespan="off",
                            access_log=False, date_header=False, http=NoDelayH11Protocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"fake-immich-{port}")
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fake Immich server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", api_key
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
