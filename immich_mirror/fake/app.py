"""`create_app`: the ASGI app that answers like Immich 2.7.5, 3.1.0 or 3.2.2 over a `FakeLibrary`.

One catch-all route dispatches to the `api_*` handlers itself, in the order the real server
checks a request: JSON body parsing, route lookup (404 "Cannot GET ..."), authentication (401),
permission and admin checks (403), then the handler's own validation (400) and access checks.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from immich_mirror.fake import api_albums, api_assets, api_misc, api_tags
from immich_mirror.fake.http_errors import ApiFailure, correlation_id, error_response, json_response
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Route
from immich_mirror.fake.search import SearchEngine
from immich_mirror.fake.state import SUPPORTED_VERSIONS, FakeApiKey, FakeUser

ROUTES: list[Route] = [*api_misc.ROUTES, *api_assets.ROUTES, *api_albums.ROUTES, *api_tags.ROUTES]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
# Node's JSON.parse wording for the errors a client is likely to produce.
_JS_JSON_MESSAGES = {
    "Expecting property name enclosed in double quotes": "Expected property name or '}'",
    "Expecting value": "Unexpected token",
    "Expecting ',' delimiter": "Expected ',' or '}' after property value",
    "Extra data": "Unexpected non-whitespace character after JSON",
}


def create_app(library: FakeLibrary, *, version: str = "3.1.0") -> Starlette:
    """An ASGI app serving `library` under `/api` as Immich `version` would.

    Sets `library.version` too: a few side effects differ by version (album removals).
    Wrap the result with `faults.FaultMiddleware` to inject failures.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported Immich version {version!r}; choose one of {SUPPORTED_VERSIONS}")
    library.version = version
    engine = SearchEngine(library, version)

    async def dispatch(request: Request) -> Response:
        raw = await request.body()
        try:
            return _handle(library, engine, version, request, raw)
        except ApiFailure as failure:
            return error_response(version, failure)

    app = Starlette(routes=[StarletteRoute("/{path:path}", dispatch, methods=_METHODS)])
    app.state.library = library
    app.state.version = version
    return app


def _parse_body(method: str, raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        # Express hands an empty object to POST/PUT/PATCH handlers; DELETE/GET get nothing.
        return ({} if method in ("POST", "PUT", "PATCH") else None), False
    try:
        return json.loads(raw), True
    except json.JSONDecodeError as exc:
        text = _JS_JSON_MESSAGES.get(exc.msg, "Unexpected token")
        message = f"{text} in JSON at position {exc.pos} (line {exc.lineno} column {exc.colno})"
        raise ApiFailure(400, message, correlation_in_body=False) from exc


def _find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        if route.method != method:
            continue
        match = route.regex.match(path)
        if match:
            return route, match.groupdict()
    return None


def _authenticate(library: FakeLibrary, request: Request) -> tuple[FakeUser, FakeApiKey | None, str | None]:
    token = request.headers.get("x-immich-user-token") or request.cookies.get("immich_access_token")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    if token:
        user_id = library.sessions.get(token)
        if user_id is None or user_id not in library.users:
            raise ApiFailure(401, "Invalid user token")
        return library.users[user_id], None, token
    secret = request.headers.get("x-api-key") or request.query_params.get("apiKey")
    if secret:
        key = library.api_keys.get(secret)
        if key is None or key.user_id not in library.users:
            raise ApiFailure(401, "Invalid API key")
        return library.users[key.user_id], key, None
    raise ApiFailure(401, "Authentication required")


def _handle(
    library: FakeLibrary, engine: SearchEngine, version: str, request: Request, raw: bytes
) -> Response:
    method = request.method.upper()
    body, has_body = _parse_body(method, raw)
    full_path = request.url.path
    found = _find_route(method, full_path[len("/api/"):]) if full_path.startswith("/api/") else None
    if found is None:
        raise ApiFailure(404, f"Cannot {method} {full_path}")
    route, params = found
    with library.lock:
        library.pump()
        if route.auth:
            user, key, token = _authenticate(library, request)
        else:
            owner = library.users.get(library.owner_id)
            if owner is None:
                raise ApiFailure(500, "fake library has no users")
            user, key, token = owner, None, None
        if route.auth and key is not None and route.permission and not key.allows(route.permission):
            raise ApiFailure(403, f"Missing required permission: {route.permission}")
        if route.sync and key is not None:
            raise ApiFailure(403, "Sync endpoints cannot be used with API keys")
        if route.admin and not user.is_admin:
            raise ApiFailure(403, "Forbidden")
        query = dict(request.query_params)
        ctx = Ctx(library, version, engine, user, key, token, params, query, body, has_body)
        status, payload = route.handler(ctx)
    return _respond(version, status, payload)


def _respond(version: str, status: int, payload: Any) -> Response:
    headers = {} if version.startswith("2.") else {"X-Correlation-ID": correlation_id()}
    if payload is NO_CONTENT:
        return Response(status_code=status, headers=headers)
    if isinstance(payload, tuple) and payload and payload[0] == "binary":
        _, content, media_type, extra = payload
        return Response(content, status_code=status, media_type=media_type, headers={**headers, **extra})
    if isinstance(payload, tuple) and payload and payload[0] == "jsonlines":
        return Response(
            payload[1], status_code=status, media_type="application/jsonlines+json", headers=headers
        )
    return json_response(payload, status, headers)

