"""Fault injection: an ASGI middleware that makes the fake fail the way real deployments do.

A `FaultPlan` is a list of `FaultRule`s and one seeded random generator, so a schedule replays
the same way for the same seed and request sequence. Each rule applies to requests matching its
pattern (`"*"`, `"/api/tags/*"`, `"PUT /api/tags/*"`; fnmatch syntax) with a probability:

    status    answer 500/502/503/504 (or any status) without touching the state
    429       answer 429 with `Retry-After: <seconds>`
    latency   wait `seconds` before handling (adds to whatever else happens)
    drop-before / drop-after   close the connection before / after the change was applied
    truncate  cut the JSON body in half
    non-json  200 with a body that is not JSON
    html      200 with a reverse proxy's HTML login page

Spec strings (CLI `--faults`, state file): rules separated by commas, each
`kind[:rate[:arg]][@pattern]`, e.g. `503:0.1@/api/search/*,latency:1:0.05,drop-after:0.02@PUT *`.
A bare status code is a `status` rule with that code.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from random import Random
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KINDS = ("status", "429", "latency", "drop-before", "drop-after", "truncate", "non-json", "html")
LOGIN_PAGE = (b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
              b"<form method=\"post\" action=\"/login\"><input name=\"username\"><input name=\"password\" "
              b"type=\"password\"><button>Sign in</button></form></body></html>")


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    pattern: str = "*"
    status: int = 500
    seconds: float = 1.0  # latency, or Retry-After for 429

    def matches(self, method: str, path: str) -> bool:
        if " " in self.pattern:
            want_method, _, want_path = self.pattern.partition(" ")
            return fnmatchcase(method, want_method.upper()) and fnmatchcase(path, want_path)
        return fnmatchcase(path, self.pattern)

    def to_spec(self) -> str:
        kind = str(self.status) if self.kind == "status" else self.kind
        arg = f":{self.seconds:g}" if self.kind in ("429", "latency") else ""
        return f"{kind}:{self.rate:g}{arg}@{self.pattern}"


@dataclass
class FaultPlan:
    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    injected: dict[str, int] = field(default_factory=dict)  # kind -> times applied

    def __post_init__(self) -> None:
        self.rng = Random(self.seed)

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        rules = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            body, _, pattern = part.partition("@")
            bits = body.split(":")
            kind = bits[0]
            rule = FaultRule(kind, pattern=pattern or "*")
            if kind.isdigit() and kind != "429":
                rule.kind, rule.status = "status", int(kind)
            elif kind not in KINDS:
                raise ValueError(f"unknown fault kind {kind!r} in {part!r}; kinds: {', '.join(KINDS)}")
            if len(bits) > 1:
                rule.rate = float(bits[1])
            if len(bits) > 2:
                rule.seconds = float(bits[2])
            rules.append(rule)
        return cls(rules, seed)

    def to_spec(self) -> str:
        return ",".join(rule.to_spec() for rule in self.rules)

    def pick(self, method: str, path: str) -> tuple[float, FaultRule | None]:
        """(latency to add, the one failure to inject or None) for this request."""
        delay, chosen = 0.0, None
        for rule in self.rules:
            if not rule.matches(method, path) or self.rng.random() >= rule.rate:
                continue
            self.injected[rule.kind] = self.injected.get(rule.kind, 0) + 1
            if rule.kind == "latency":
                delay += rule.seconds
            elif chosen is None:
                chosen = rule
        return delay, chosen


class FaultMiddleware:
    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delay, rule = self.plan.pick(scope["method"], scope["path"])
        if delay:
            await asyncio.sleep(delay)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "status":
            body = json.dumps(_status_body(rule.status)).encode()
            await _answer(send, rule.status, body, "application/json")
        elif rule.kind == "429":
            await _answer(send, 429, b'{"message":"Too Many Requests"}', "application/json",
                          [(b"retry-after", f"{rule.seconds:g}".encode())])
        elif rule.kind == "html":
            await _answer(send, 200, LOGIN_PAGE, "text/html; charset=utf-8")
        elif rule.kind == "non-json":
            await _answer(send, 200, b"OK <not json>", "application/json; charset=utf-8")
        elif rule.kind == "drop-before":
            await _drop(send)
        else:
            await self._after(scope, receive, send, rule)

    async def _after(self, scope: Scope, receive: Receive, send: Send, rule: FaultRule) -> None:
        """Run the real handler (the change happens), then spoil what the client receives."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        if rule.kind == "drop-after":
            await _drop(send)
            return
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        cut = body[: len(body) // 2]
        await send({"type": "http.response.start", "status": start["status"],
                    "headers": [*headers, (b"content-length", str(len(cut)).encode())]})
        await send({"type": "http.response.body", "body": cut})


def _status_body(status: int) -> dict[str, Any]:
    if status == 500:
        return {"message": "Internal server error", "error": "Internal Server Error", "statusCode": 500}
    return {"message": {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
        status, "Error"), "statusCode": status}


async def _answer(send: Send, status: int, body: bytes, content_type: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Promise a body and never send it: the server closes the connection mid-response.

    Over a socket the client sees a transport error (peer closed the connection); in process
    (starlette's TestClient) the raised httpx error reaches the caller the same way.
    """
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
    raise httpx.RemoteProtocolError("fault injection: connection dropped")
