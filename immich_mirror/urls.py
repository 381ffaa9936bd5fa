"""Server URL handling: what a user types as "the Immich server", and links into Immich's web app.

Users paste all sorts of things: ``nas:2283``, ``photos.example.com``, ``https://photos.example.com/``,
``http://192.168.1.5:2283/api``. :func:`normalize_server_url` turns each into one canonical base URL
(scheme, host, optional port, optional path prefix; never a trailing ``/`` or ``/api``), so the rest
of the code can append ``/api/...`` or ``/photos/<id>`` without thinking.

The default scheme when none is given (documented rule, also in the CLI help):

* ``http://`` when the host is ``localhost``, a single-label name (``nas``), a ``.local``/``.lan``/
  ``.home``/``.internal``/``.localdomain`` name, a loopback/private/link-local IP address, or when a
  port other than 443 is given (Immich's own port 2283 speaks plain HTTP; TLS is normally terminated
  by a reverse proxy on 443);
* ``https://`` otherwise (a public host name without a port is almost always behind a TLS proxy).

Default ports (80 for http, 443 for https) are dropped. Credentials in the URL (``user:pw@host``),
query strings and fragments are refused: none of them can be meant as a server address, and a
credential would end up in logs and error messages.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

from immich_mirror.errors import ConfigError

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_LABEL_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_LOCAL_SUFFIXES = (".local", ".lan", ".home", ".internal", ".localdomain", ".home.arpa")


def _bad(raw: str, why: str) -> ConfigError:
    return ConfigError(f"invalid Immich server URL {raw!r}: {why} (expected e.g. https://photos.example.com)")


def _is_local_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return ip.is_private or ip.is_loopback or ip.is_link_local


def _check_host(raw: str, host: str) -> str:
    """Return the host in canonical form (lower case, IPv6 bracketed) or raise ConfigError."""
    if not host:
        raise _bad(raw, "no host name")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise _bad(raw, f"{host} is not an IPv6 address") from None
        return host
    host = host.lower().rstrip(".")
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _bad(raw, f"{host} is not an IPv4 address") from None
        return host
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise _bad(raw, f"{host!r} is not a valid host name")
    return host


def normalize_server_url(raw: str) -> str:
    """Return the canonical base URL of an Immich server (without ``/api``), or raise ConfigError."""
    text = (raw or "").strip()
    if not text:
        raise _bad(raw, "it is empty")
    if any(c.isspace() for c in text):
        raise _bad(raw, "it contains spaces")
    # A bare IPv6 address ("::1") cannot be split into host and port; bracket it first.
    try:
        ipaddress.IPv6Address(text)
        text = f"[{text}]"
    except ValueError:
        pass
    match = _SCHEME_RE.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise _bad(raw, f"scheme {scheme}:// is not http:// or https://")
        rest = text[match.end() :]
        if _SCHEME_RE.match(rest) or re.match(r"^https?:/*", rest, re.IGNORECASE):
            raise _bad(raw, "the scheme is written twice")
    else:
        if re.match(r"^https?(:|/)", text, re.IGNORECASE):
            raise _bad(raw, "the scheme must be written as http:// or https://")
        scheme = ""
        rest = text

    try:
        parts = urlsplit("//" + rest)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise _bad(raw, "it is not a valid URL (an IPv6 address goes in brackets: http://[::1]:2283)") from None
    if parts.query or parts.fragment or "?" in rest or "#" in rest:
        raise _bad(raw, "it has a query string or fragment")
    if "@" in parts.netloc:
        raise _bad(raw, "it contains credentials; put the API key in the config, not in the URL")
    try:
        port = parts.port
    except ValueError:
        raise _bad(raw, "the port is not a number between 1 and 65535") from None
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        raise _bad(raw, "the port is not a number between 1 and 65535")
    netloc_host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    host = _check_host(raw, netloc_host)

    if not scheme:
        scheme = "http" if (port is not None and port != 443) or _is_local_host(host) else "https"
    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"

    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    if path.lower().endswith("/api"):
        path = path[:-4]
    path = path.rstrip("/")
    if path.lower().endswith("/api"):
        raise _bad(raw, "the path ends in /api twice")
    return f"{scheme}://{netloc}{path}"


def web_link(base: str, asset_id: str) -> str:
    """Link to one asset in Immich's web app, for reports and logs."""
    return f"{base.rstrip('/')}/photos/{quote(asset_id, safe='')}"
