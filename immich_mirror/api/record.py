"""Build the vcrpy cassettes the client tests replay.

Two modes::

    python -m immich_mirror.api.record --from-recordings DIR [--out cassettes]
        Convert recordings of a real server (``DIR/*.json``: ``{request: {method, url, auth, body?},
        status, content_type, body, note?}``) into one cassette per recording, at
        ``OUT/v<version>/<name>.yaml``. Each cassette starts with the server's ``GET /server/version``
        answer (the client asks for it before anything else), then the recording; a few
        multi-step scenarios (paging) chain several recordings. Files of other shapes (timings,
        notes) and session-only calls (sync, bearer auth) are skipped, and the recorder's
        "... N more items trimmed" list markers are dropped.

    IMMICH_URL=... IMMICH_API_KEY=... python -m immich_mirror.api.record --out cassettes
        Re-record the client's read-only calls against a live server into
        ``OUT/v<version>/live_<name>.yaml``. Nothing is written to the server.

In both modes every secret is scrubbed before a byte reaches the disk: the ``x-api-key``,
``authorization`` and cookie headers (vcrpy ``filter_headers``), ``apiKey``/``key``/``sessionKey``
query parameters, and the ``key`` of shared links in response bodies.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # the client imports this module's secret lists
    from .client import ImmichClient

SECRET_HEADERS = (
    "x-api-key",
    "authorization",
    "cookie",
    "set-cookie",
    "x-immich-user-token",
    "x-immich-session-token",
    "x-immich-share-key",
)
SECRET_PARAMS = ("apiKey", "key", "sessionKey", "slug", "token", "password")
VERSION_RECORDING = "server_version"
# Cassettes that chain several recordings, in the order the client makes the calls.
SCENARIOS: dict[str, list[str]] = {
    "search_paging": ["search_metadata_page1", "search_metadata_page2", "search_metadata_beyond_last"],
}
HOST = "http://immich.test"


_TRIM_MARKER = re.compile(r"^\.\.\. \d+ more items trimmed")


def drop_trim_markers(body: Any) -> Any:
    """Remove the recorder's ``"... N more items trimmed (total M)"`` list entries.

    The v2.7.5 recordings shortened long lists and ended them with such a string; Immich never
    sends one, and a list of albums with a string in it would fail validation for the wrong reason.
    """
    if isinstance(body, dict):
        return {k: drop_trim_markers(v) for k, v in body.items()}
    if isinstance(body, list):
        return [drop_trim_markers(v) for v in body if not (isinstance(v, str) and _TRIM_MARKER.match(v))]
    return body


def redact_body(body: Any) -> Any:
    """Blank share keys (and any other ``key``/``apiKey``/``secret`` field) in a JSON body."""
    if isinstance(body, dict):
        return {
            k: (
                "REDACTED"
                if k in ("key", "apiKey", "secret", "token", "accessToken") and isinstance(v, str) and v
                else redact_body(v)
            )
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [redact_body(v) for v in body]
    return body


def _interaction(rec: dict[str, Any]) -> dict[str, Any]:
    req = rec["request"]
    req_headers: dict[str, list[str]] = {"accept": ["application/json"]}
    req_body = None
    if "body" in req:
        req_body = json.dumps(req["body"], separators=(",", ":"))
        req_headers["content-type"] = ["application/json"]
    resp_headers: dict[str, list[str]] = {}
    if rec.get("content_type"):
        resp_headers["content-type"] = [rec["content_type"]]
    cleaned = redact_body(drop_trim_markers(rec["body"]))
    content = "" if rec["body"] is None else json.dumps(cleaned, separators=(",", ":"))
    status = int(rec["status"])
    return {
        "request": {
            "method": req["method"],
            "uri": HOST + req["url"],
            "body": req_body,
            "headers": req_headers,
        },
        "response": {
            "status": {"code": status, "message": _REASONS.get(status, "")},
            "headers": resp_headers,
            "body": {"string": content},
        },
    }


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
}


def _usable(rec: Any) -> bool:
    if not isinstance(rec, dict) or not isinstance(rec.get("request"), dict):
        return False
    req = rec["request"]
    return (
        "method" in req
        and "status" in rec
        and req.get("auth") in ("x-api-key", "none")
        and "/sync/" not in req.get("url", "")
    )


def _dump(path: Path, interactions: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"interactions": list(interactions), "version": 1}
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=200))


def from_recordings(src: Path, out: Path) -> list[Path]:
    recordings: dict[str, dict[str, Any]] = {}
    for file in sorted(src.glob("*.json")):
        rec = json.loads(file.read_text())
        if _usable(rec):
            recordings[file.stem] = rec
    version_rec = recordings.get(VERSION_RECORDING)
    if version_rec is None:
        raise SystemExit(f"{src} has no {VERSION_RECORDING}.json: cannot tell the server version")
    v = version_rec["body"]
    target = out / f"v{v['major']}.{v['minor']}.{v['patch']}"
    written = []
    head = [_interaction(version_rec)]
    for name, rec in recordings.items():
        path = target / f"{name}.yaml"
        _dump(path, head + ([] if name == VERSION_RECORDING else [_interaction(rec)]))
        written.append(path)
    for name, parts in SCENARIOS.items():
        if all(p in recordings for p in parts):
            path = target / f"{name}.yaml"
            _dump(path, head + [_interaction(recordings[p]) for p in parts])
            written.append(path)
    return written


def _scrub_request(request: Any) -> Any:
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(request.uri)
    query = [(k, "REDACTED" if k in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)]
    request.uri = urlunsplit(parts._replace(query=urlencode(query)))
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    for name in list(response.get("headers", {})):
        if name.lower() in SECRET_HEADERS:
            del response["headers"][name]
    raw = response.get("body", {}).get("string")
    if raw:
        try:
            text = raw.decode() if isinstance(raw, bytes) else raw
            response["body"]["string"] = json.dumps(redact_body(json.loads(text)), separators=(",", ":"))
        except ValueError:
            pass
    return response


# What `make cassettes` records against a live server, one cassette each (``live_<name>.yaml``); the
# client tests replay every one found under cassettes/ with the same call.
LIVE_CALLS: dict[str, Callable[[ImmichClient], object]] = {
    "server_version": lambda c: c.server_version(),
    "server_ping": lambda c: c.ping(),
    "server_about": lambda c: c.about(),
    "users_me": lambda c: c.me(),
    "api_keys_me": lambda c: c.api_key_info(),
    "assets_statistics": lambda c: c.asset_statistics(),
    "albums_owned": lambda c: c.list_albums(),
    "albums_shared_with_me": lambda c: c.list_albums(shared_with_me=True),
    "tags_list": lambda c: c.list_tags(),
    "search_first_page": lambda c: next(iter(c.search_assets(visibility="timeline", size=3)), None),
    "duplicates_list": lambda c: c.list_duplicates(),
    "shared_links_list": lambda c: c.list_shared_links(),
}


def live(out: Path, url: str, api_key: str) -> list[Path]:
    import vcr

    from .client import ImmichClient

    client = ImmichClient(url, api_key)
    version = client.server_version()
    target = out / f"v{version.major}.{version.minor}.{version.patch}"
    recorder = vcr.VCR(
        record_mode="all",
        filter_headers=list(SECRET_HEADERS),
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
    written = []
    for name, call in LIVE_CALLS.items():
        path = target / f"live_{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        fresh = ImmichClient(url, api_key)
        with recorder.use_cassette(str(path)):
            call(fresh)
        fresh.close()
        written.append(path)
    client.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from-recordings", type=Path, metavar="DIR", help="convert recordings in DIR")
    parser.add_argument("--out", type=Path, default=Path("cassettes"), help="cassette root")
    args = parser.parse_args(argv)
    if args.from_recordings:
        written = from_recordings(args.from_recordings, args.out)
    else:
        url, key = os.environ.get("IMMICH_URL"), os.environ.get("IMMICH_API_KEY")
        if not url or not key:
            print("error: set IMMICH_URL and IMMICH_API_KEY, or pass --from-recordings DIR", file=sys.stderr)
            return 2
        written = live(args.out, url, key)
    print(f"wrote {len(written)} cassettes under {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
