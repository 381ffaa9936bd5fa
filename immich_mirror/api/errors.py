"""Turn what the wire gave us into the typed errors of :mod:`immich_mirror.errors`.

Both error bodies Immich has used are understood:

* v2 (NestJS + class-validator): ``{"message": str | [str], "error", "statusCode", "correlationId"}``
* v3 (zod): ``{"message": str}``, plus ``"errors": [{"path": [...], "message", "code", ...}]`` on
  validation failures (``message`` is then just "Validation failed").

Every message is one line built from the status, the method, the URL path and the server's own
words, with a hint on what to do. Nothing here ever sees request headers, so the API key cannot
leak into a message.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable
from typing import Any

import httpx

from immich_mirror.errors import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    ConnectionFailed,
    ImmichError,
    NotFound,
    NotImmich,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    UnsupportedServer,
)

from .retry import parse_retry_after

KEYS_PAGE = "Immich > Account Settings > API Keys"
# The client's first request to any server (no permission needed): see ImmichClient.server_version.
FIRST_CONTACT = "/server/version"
_PERMISSION_RE = re.compile(r"Missing required permission: ([\w.]+)")
_NOT_FOUND_RE = re.compile(r"^Not found or no [\w.]+ access$")
_MAX_SERVER_TEXT = 300


def _clip(text: str, limit: int = _MAX_SERVER_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(request: httpx.Request) -> str:
    # Path only: the host is in the config, and query strings may carry user data.
    return f"{request.method} {request.url.path}"


def _looks_like_html(response: httpx.Response) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    return "html" in ctype or response.content[:200].lstrip()[:1] == b"<"


def describe_body(response: httpx.Response) -> str:
    """Say briefly what came back instead of Immich JSON (for UnexpectedResponse messages)."""
    ctype = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if _looks_like_html(response):
        title = re.search(rb"<title[^>]*>(.*?)</title>", response.content[:4000], re.I | re.S)
        what = f"an HTML page ({ctype}"
        if title:
            what += f', title "{_clip(title.group(1).decode("utf-8", "replace"), 80)}"'
        return what + "): a reverse-proxy login page or a web app, not Immich's API"
    if not response.content:
        return f"an empty body ({ctype})"
    return f"{ctype}: {_clip(response.content[:120].decode('utf-8', 'replace'), 120)}"


def server_messages(body: Any) -> list[str]:
    """The server's error messages from either body shape, in order, without duplicates."""
    if not isinstance(body, dict):
        return []
    out: list[str] = []
    message = body.get("message")
    if isinstance(message, list):
        out.extend(str(m) for m in message)
    elif message is not None:
        out.append(str(message))
    errors = body.get("errors")
    if isinstance(errors, list):
        details = []
        for item in errors:
            if not isinstance(item, dict):
                continue
            path = ".".join(str(p) for p in item.get("path") or [])
            text = str(item.get("message", ""))
            details.append(f"{path}: {text}" if path else text)
        if details:
            # "Validation failed" says nothing once the details are there.
            out = [m for m in out if m != "Validation failed"] + details
    return list(dict.fromkeys(out))


def error_from_response(response: httpx.Response, *, base_url: str) -> ImmichError:
    """The typed error for a response whose status is not the one expected."""
    request = response.request
    where = _where(request)
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    messages = server_messages(body)
    joined = _clip("; ".join(messages))
    first = messages[0] if messages else ""
    kw: dict[str, Any] = {"status": status, "method": request.method, "path": request.url.path,
                          "server_message": joined}
    reason = f"{status} {joined}" if joined else f"{status} {response.reason_phrase}".strip()

    if 300 <= status < 400:
        location = response.headers.get("location", "")
        hint = ""
        if location.startswith("https://") and base_url.startswith("http://"):
            hint = ": the server wants HTTPS, use https:// in the server URL"
        elif location:
            hint = ": a reverse proxy may require a login; point the server URL straight at Immich"
        return UnexpectedResponse(
            f"Immich answered {where} with a redirect ({status}) to {_clip(location, 120) or '?'}{hint}"
        )
    if body is None and status not in (429,) and status < 500:
        if status == 400 and b"plain http request was sent to https port" in response.content.lower():
            return ConnectionFailed(
                f"cannot reach Immich at {base_url}: the port speaks HTTPS; use https:// in the server URL"
            )
        if status == 404:
            return NotImmich(
                f"{base_url} does not look like Immich's API ({where} gave 404 with "
                f"{describe_body(response)}); check the server URL"
            )
        return UnexpectedResponse(
            f"expected an Immich JSON answer to {where}, got {status} with {describe_body(response)}"
        )
    if status == 401:
        if first == "Invalid API key":
            return AuthenticationFailed(
                f"Immich rejected the API key (401 Invalid API key): create a new key in {KEYS_PAGE}", **kw
            )
        if first == "Authentication required":
            return AuthenticationFailed(
                f"Immich wants an API key (401 Authentication required) for {where}: "
                f"set one (create it in {KEYS_PAGE})", **kw
            )
        return AuthenticationFailed(f"Immich refused the credentials for {where} ({reason})", **kw)
    if status == 403:
        match = _PERMISSION_RE.search(first)
        if match:
            perm = match.group(1)
            return PermissionDenied(
                f"the API key lacks the permission {perm} (403 on {where}): "
                f"edit the key in {KEYS_PAGE} and grant {perm}", permission=perm, **kw
            )
        return PermissionDenied(f"Immich refused {where} ({reason})", **kw)
    if status == 400 and any(_NOT_FOUND_RE.match(m) for m in messages):
        return NotFound(f"not found on Immich, or the key may not read it: {where} ({reason})", **kw)
    if status == 400:
        return BadRequest(f"Immich rejected {where} (400: {joined or 'Bad Request'})", **kw)
    if status == 404 and request.url.path.endswith(FIRST_CONTACT):
        # Every Immich since 1.x answers this route: a 404 here is the wrong URL, not a version problem.
        return NotImmich(
            f"{base_url} does not look like Immich's API ({where} gave 404 {joined}); check the server URL"
        )
    if status == 404:
        return UnsupportedServer(
            f"Immich has no route {where} (404 {joined}): the server URL may not point at Immich's API "
            f"(expected {base_url}/api/...), or this Immich version lacks the endpoint"
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        wait = f"; retry after {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimited(f"too many requests to Immich ({where}: 429){wait}", retry_after=retry_after, **kw)
    if status >= 500:
        if body is None and status in (502, 503, 504):
            return ServerError(
                f"the reverse proxy in front of Immich answered {status} {response.reason_phrase} "
                f"to {where}: is the Immich server running?", **kw
            )
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        err = ServerError(f"Immich failed on {where} ({reason})", **kw)
        # A 503 may say when to come back; the retry policy reads it from here.
        err.retry_after = retry_after  # type: ignore[attr-defined]
        return err
    return ApiError(f"Immich answered {where} with {reason}", **kw)


def _ssl_reason(exc: BaseException) -> str | None:
    """Recognise TLS trouble somewhere in the exception chain; say what to do about it."""
    seen: BaseException | None = exc
    text = ""
    while seen is not None:
        text += f" {seen}"
        if isinstance(seen, ssl.SSLCertVerificationError):
            break
        seen = seen.__cause__ or seen.__context__
    lower = text.lower()
    if "certificate_verify_failed" in lower or "certificate verify failed" in lower:
        detail = re.search(r"certificate verify failed: ([^()\]]+)", text, re.I)
        why = f" ({detail.group(1).strip()})" if detail else ""
        return (f"the TLS certificate could not be verified{why}: install the CA certificate, "
                "or pass --insecure to skip the check")
    if any(s in lower for s in ("wrong_version_number", "wrong version number", "record layer failure",
                                "packet length too long", "http_request")):
        return "the port does not speak HTTPS (TLS handshake failed); use http:// in the server URL"
    if "ssl" in lower or "tls" in lower:
        return f"TLS handshake failed ({_clip(text, 160)}); check the certificate, or pass --insecure"
    return None


def port_speaks_tls(base_url: str, timeout: float = 3.0) -> bool:
    """Whether the server's port answers a TLS handshake (certificate not checked): asked only after a
    plain-HTTP connection was closed without an answer, to tell "use https://" from a dropped line."""
    url = httpx.URL(base_url)
    host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, context.wrap_socket(
            sock, server_hostname=host
        ):
            return True
    except ssl.SSLError as exc:
        # A TLS alert (an old protocol version, say) is still TLS; "wrong version number" is not.
        return "alert" in str(exc).lower()
    except OSError:
        return False


def error_from_transport(
    exc: httpx.RequestError,
    *,
    base_url: str,
    timeout: float | None = None,
    speaks_tls: Callable[[], bool] | None = None,
) -> ConnectionFailed:
    """``cannot reach Immich at <URL>: <reason>`` for a transport failure."""
    prefix = f"cannot reach Immich at {base_url}"
    tls = _ssl_reason(exc)
    if tls:
        return ConnectionFailed(f"{prefix}: {tls}")
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectionFailed(f"{prefix}: timed out connecting (is the host up and the port open?)")
    if isinstance(exc, httpx.ReadTimeout):
        after = f" within {timeout:g} s" if timeout else ""
        where = _where(exc.request) if _has_request(exc) else "the request"
        return ConnectionFailed(f"{prefix}: no answer to {where}{after} (raise the timeout if this repeats)")
    if isinstance(exc, httpx.PoolTimeout):
        return ConnectionFailed(f"{prefix}: no free connection (the client is used from several threads?)")
    if any(s in lower for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                "temporary failure in name resolution", "no address associated")):
        return ConnectionFailed(f"{prefix}: host name not found (DNS): check the server URL")
    if "connection refused" in lower or "errno 111" in lower or "errno 61" in lower:
        return ConnectionFailed(f"{prefix}: connection refused (is Immich running, and is the port right?)")
    closed = isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError)
    if closed or "disconnected without sending" in lower:
        hint = ""
        # Plain HTTP to a TLS port and a line that merely dropped look alike from here: the hint only
        # when the port answers a TLS handshake.
        if base_url.startswith("http://") and speaks_tls is not None and speaks_tls():
            hint = "; the port speaks HTTPS: use https:// in the server URL"
        # Plain HTTP sent to a TLS port ends like this: the server resets or answers garbage.
        return ConnectionFailed(f"{prefix}: the server closed the connection ({_clip(text, 120)}){hint}")
    return ConnectionFailed(f"{prefix}: {_clip(text, 200) or type(exc).__name__}")


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True
