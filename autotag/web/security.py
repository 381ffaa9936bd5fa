"""Who may talk to the review server: whoever holds the token, from the page's own origin.

Like a notebook server, the server prints a URL with a random token; every request must carry it (query
``token`` or header ``X-Autotag-Token``), else 403. Requests that change something must be POSTs whose
``Origin`` is the server itself, so another site open in the same browser cannot drive the page even if
it guessed the port. On loopback the ``Host`` header must name loopback too (DNS rebinding). The
responses forbid framing, sniffing and referrers, so the token never leaves in a ``Referer``.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_HEADER = "x-autotag-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = ("GET", "HEAD")
HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
]


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Guard:
    """ASGI middleware: token on every request, Host on loopback, Origin on every state change."""

    def __init__(self, app: ASGIApp, token: str, *, loopback_only: bool) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self.refuse(scope, headers)
        if problem is not None:
            await _plain(send, 403, problem)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in HEADERS if k not in names
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refuse(self, scope: Scope, headers: dict[str, str]) -> str | None:
        """Why the request is refused, or None."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            return "forbidden: open the URL `autotag review` printed (it carries the access token)"
        host = headers.get("host", "")
        if self.loopback_only and _host_name(host) not in LOOPBACK_NAMES:
            return "forbidden: this server only answers on loopback (127.0.0.1)"
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if scope["method"] != "POST" or origin is None or origin != f"{scope.get('scheme', 'http')}://{host}":
                return "forbidden: changes are accepted only from the review page itself"
        return None


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if ":" in host else host


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                        *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})
