"""Immich web links in ``exclude:`` and ``only:``: parse what users paste, resolve it to assets.

Two halves, kept apart so that the first can be fuzzed:

- :func:`parse_link` is pure: text (a web link or a bare id) and the configured server's base URL in,
  a :class:`LinkTarget` out, or a one-line ``ConfigError`` naming the link;
- :class:`Resolver` turns a target into asset ids, from the mirror where it can (assets, albums, tags,
  folders, partners) and from Immich where only the server knows (share links, people, searches).

:func:`apply_scope` resolves every configured link and rewrites ``scope_exclude``/``scope_only`` in one
transaction; ``session.classify`` calls it first, and the rule views read those tables (``scope_assets``).
An excluded album or tag is more than its assets: ``scope_exclude_albums``/``scope_exclude_tags`` keep
it, and no change may target it (``autotag.excluded``).

Forms (any context prefix before ``/photos/<id>`` is navigation and ignored)::

    <uuid>                              an asset id, or an album id when it is an album in the mirror
    /photos/<id>, /albums/<a>/photos/<id>, /search/photos/<id>, /share/<key>/photos/<id>, ...   one asset
    /albums/<id>                        the album's assets
    /share/<key>, /s/<slug>             the shared link's album or assets (GET /api/shared-links)
    /tags?path=a/b                      assets tagged a/b or below it
    /folders?path=/x/y                  assets whose original_path is under /x/y
    /people/<id>                        POST /api/search/metadata with personIds
    /search?query=<json>                the metadata search replayed (a smart search is refused)
    /partners/<user id>                 that partner's assets

A link is compared with the server by host and port, not scheme (a proxy often serves both), and the
server's path prefix (``https://host/immich``) must be there too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from sqlalchemy import Connection, Engine, text

from immich_mirror.api.client import ImmichClient
from immich_mirror.api.models import SharedLink
from immich_mirror.errors import (
    BadRequest,
    ConfigError,
    NotFound,
    PermissionDenied,
    UnsupportedServer,
)
from immich_mirror.urls import normalize_server_url

if TYPE_CHECKING:
    from autotag.session import Session

Kind = Literal["id", "asset", "album", "share", "slug", "tag", "folder", "person", "search", "partner"]
KINDS: tuple[Kind, ...] = ("id", "asset", "album", "share", "slug", "tag", "folder", "person", "search", "partner")
Section = Literal["exclude", "only"]

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Pages of the web app that show photos but select none of them on purpose (or everything).
_NOT_SELECTIONS = frozenset(
    {"map", "explore", "places", "photos", "albums", "sharing", "people", "memory", "utilities", "user-settings",
     "admin", "archive", "favorites", "trash", "locked", "auth", "shared-links", "tags", "folders", "search",
     "partners", "duplicates", "buy", "link"}
)
_ACCEPTED = (
    "use /photos/<id>, /albums/<id>, /share/<key>, /s/<slug>, /tags?path=, /folders?path=, /people/<id>, "
    "/search?query= or a bare id"
)


@dataclass(frozen=True)
class LinkTarget:
    """What a link points at. ``value`` is an id, share key, slug, tag value, folder path, or (search)
    the query as canonical JSON."""

    kind: Kind
    value: str

    def url(self, base: str) -> str:
        """The canonical web link (a bare id stays bare): ``parse_link(t.url(base), base) == t``."""
        base = base.rstrip("/")
        v = quote(self.value, safe="")
        return {
            "id": self.value,
            "asset": f"{base}/photos/{v}",
            "album": f"{base}/albums/{v}",
            "share": f"{base}/share/{v}",
            "slug": f"{base}/s/{v}",
            "tag": f"{base}/tags?path={v}",
            "folder": f"{base}/folders?path={v}",
            "person": f"{base}/people/{v}",
            "search": f"{base}/search?query={v}",
            "partner": f"{base}/partners/{v}",
        }[self.kind]

    def describe(self) -> str:
        return {"id": "id", "search": "search"}.get(self.kind, f"{self.kind} {self.value}")


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 160 else raw[:157] + "...")


def _bad(raw: str, why: str) -> ConfigError:
    return ConfigError(f"link {_shown(raw)}: {why}")


def is_bare_id(raw: str) -> bool:
    return bool(UUID_RE.match(raw.strip()))


def _host_port(scheme: str, netloc_host: str | None, port: int | None) -> tuple[str, int | None]:
    host = (netloc_host or "").lower().rstrip(".")
    if (scheme == "http" and port == 80) or (scheme == "https" and port == 443):
        port = None
    return host, port


def _split(raw: str, text_: str) -> tuple[str, int | None, str, str]:
    """(host, port, path, query) of a pasted URL; a path alone (``/albums/x``) has host ``""``."""
    if text_.startswith("/") and not text_.startswith("//"):
        candidate = text_
        scheme = ""
    else:
        match = _SCHEME_RE.match(text_)
        if match:
            scheme = match.group(0)[:-3].lower()
            if scheme not in ("http", "https"):
                raise _bad(raw, f"scheme {scheme}:// is not http:// or https://")
            candidate = text_
        else:
            scheme = ""
            candidate = "//" + text_.lstrip("/")
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        raise _bad(raw, "not a valid URL") from None
    host, port = _host_port(scheme, parts.hostname, port)
    if candidate.startswith("/") and not candidate.startswith("//"):
        host = ""
    return host, port, parts.path, parts.query


def _query_value(raw: str, query: str, name: str) -> str:
    values = parse_qs(query, keep_blank_values=True).get(name)
    if not values or not values[0]:
        raise _bad(raw, f"no {name}= in the link")
    return values[0]


def _uuid(raw: str, value: str, what: str) -> str:
    if not UUID_RE.match(value):
        raise _bad(raw, f"{value[:60]!r} is not {what} id")
    return value.lower()


def _search(raw: str, query: str) -> str:
    text_ = _query_value(raw, query, "query")
    try:
        body = json.loads(text_)
    except (ValueError, RecursionError):
        raise _bad(raw, "the search query is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad(raw, "the search query is not a JSON object")
    if "query" in body:
        raise _bad(raw, "smart (CLIP) searches are not supported; use a metadata search (file name, date, ...)")
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):
        raise _bad(raw, "the search query is not valid JSON") from None


def parse_link(raw: str, server_base: str) -> LinkTarget:
    """What ``raw`` (a pasted web link or a bare id) points at; ``ConfigError`` naming it otherwise.

    ``server_base`` is the configured server (normalised here); a link to another host is refused.
    """
    if not isinstance(raw, str):
        raise ConfigError(f"link {raw!r}: not text")
    text_ = raw.strip()
    if not text_:
        raise ConfigError("link '': empty; give an Immich web link or an id")
    if UUID_RE.match(text_):
        return LinkTarget("id", text_.lower())
    host, port, path, query = _split(raw, text_)
    base = urlsplit(normalize_server_url(server_base))
    base_host, base_port = _host_port(base.scheme, base.hostname, base.port)
    if host and (host, port) != (base_host, base_port):
        def where(h: str, p: int | None) -> str:
            return h if p is None else f"{h}:{p}"

        raise _bad(raw, f"points at {where(host, port)}, not the configured server {where(base_host, base_port)}")
    prefix = base.path.rstrip("/")
    if prefix:
        if path != prefix and not path.startswith(prefix + "/"):
            raise _bad(raw, f"is not under the server's path {prefix}")
        path = path[len(prefix) :]
    seg = [unquote(s) for s in path.split("/") if s]
    if len(seg) >= 2 and seg[-2] == "photos":
        return LinkTarget("asset", _uuid(raw, seg[-1], "an asset"))
    if not seg:
        raise _bad(raw, f"is the server's home page, not a selection; {_ACCEPTED}")
    head, rest = seg[0], seg[1:]
    if len(rest) == 1:
        if head == "albums":
            return LinkTarget("album", _uuid(raw, rest[0], "an album"))
        if head == "people":
            return LinkTarget("person", _uuid(raw, rest[0], "a person"))
        if head == "partners":
            return LinkTarget("partner", _uuid(raw, rest[0], "a user"))
        if head == "share":
            return LinkTarget("share", rest[0])
        if head == "s":
            return LinkTarget("slug", rest[0])
    if not rest:
        if head == "tags":
            return LinkTarget("tag", _query_value(raw, query, "path"))
        if head == "folders":
            return LinkTarget("folder", _query_value(raw, query, "path"))
        if head == "search":
            return LinkTarget("search", _search(raw, query))
    if head in _NOT_SELECTIONS:
        raise _bad(raw, f"the /{head} page is not a selection of photos; {_ACCEPTED}")
    raise _bad(raw, f"not a link Immich's web app makes; {_ACCEPTED}")


# ------------------------------------------------------------------------------------------ resolve
@dataclass(frozen=True)
class Resolution:
    section: Section
    link: str
    target: LinkTarget
    asset_ids: frozenset[str]
    # What the link names besides assets: excluded, these are never the target of a change either.
    album_ids: frozenset[str] = frozenset()
    tag_values: frozenset[str] = frozenset()


class Resolver:
    """Resolves targets against one mirror connection; the client is asked for only when needed."""

    def __init__(self, conn: Connection, client: Callable[[], ImmichClient]) -> None:
        self.conn = conn
        self._client = client
        self._shared: list[SharedLink] | None = None

    def _ids(self, sql: str, **params: Any) -> frozenset[str]:
        return frozenset(str(r[0]) for r in self.conn.execute(text(sql), params))

    def _album(self, raw: str, album_id: str) -> frozenset[str]:
        if not self._ids("SELECT id FROM albums WHERE id = :a", a=album_id):
            raise _bad(raw, "no such album in the mirror (run `autotag sync`, or check the link)")
        return self._ids("SELECT asset_id FROM album_assets WHERE album_id = :a", a=album_id)

    def _server(self, raw: str, fetch: Callable[[ImmichClient], Iterable[str]]) -> frozenset[str]:
        try:
            return frozenset(fetch(self._client()))
        except (NotFound, BadRequest, PermissionDenied, UnsupportedServer) as exc:
            raise _bad(raw, f"Immich refused it: {exc.message}") from None
        except ValueError as exc:
            raise _bad(raw, str(exc)) from None

    def _share(self, raw: str, target: LinkTarget) -> frozenset[str]:
        if self._shared is None:
            self._shared = self._client().list_shared_links()
        field = "key" if target.kind == "share" else "slug"
        link = next((s for s in self._shared if getattr(s, field) == target.value), None)
        if link is None:
            raise _bad(raw, f"no shared link with this {field} among yours (GET /api/shared-links)")
        if link.album is not None:
            return self._album(raw, link.album.id)
        return frozenset(link.asset_ids)

    def targets(self, target: LinkTarget) -> tuple[frozenset[str], frozenset[str]]:
        """The albums and tag values ``target`` names (after ``resolve``, which checked they exist)."""
        kind, value = target.kind, target.value
        if kind == "album" or (kind == "id" and not self._ids("SELECT id FROM assets WHERE id = :a", a=value)):
            return frozenset({value}), frozenset()
        if kind in ("share", "slug"):
            field = "key" if kind == "share" else "slug"
            link = next((s for s in self._shared or [] if getattr(s, field) == value), None)
            if link is not None and link.album is not None:
                return frozenset({link.album.id}), frozenset()
        if kind == "tag":
            return frozenset(), frozenset({value.strip("/")})
        return frozenset(), frozenset()

    def resolve(self, raw: str, target: LinkTarget) -> frozenset[str]:
        kind, value = target.kind, target.value
        if kind in ("id", "asset"):
            found = self._ids("SELECT id FROM assets WHERE id = :a", a=value)
            if found or kind == "asset":
                if not found:
                    raise _bad(raw, "no such asset in the mirror (run `autotag sync`, or check the link)")
                return found
            if self._ids("SELECT id FROM albums WHERE id = :a", a=value):
                return self._album(raw, value)
            raise _bad(raw, "neither an asset nor an album in the mirror (run `autotag sync`, or check the id)")
        if kind == "album":
            return self._album(raw, value)
        if kind in ("share", "slug"):
            return self._share(raw, target)
        if kind == "tag":
            tag = value.strip("/")
            if not self._ids("SELECT id FROM tags WHERE value = :v", v=tag):
                raise _bad(raw, f"no tag {tag!r} in the mirror")
            return self._ids(
                "SELECT DISTINCT at.asset_id FROM asset_tags AS at JOIN tags AS t ON t.id = at.tag_id "
                "WHERE t.value = :v OR substr(t.value, 1, length(:p)) = :p",
                v=tag,
                p=tag + "/",
            )
        if kind == "folder":
            folder = value.rstrip("/") + "/"
            found = self._ids(
                "SELECT id FROM assets WHERE substr(original_path, 1, length(:p)) = :p", p=folder
            )
            if not found:
                raise _bad(raw, f"no asset in the mirror is under the folder {value!r}")
            return found
        if kind == "partner":
            return self._ids("SELECT id FROM assets WHERE owner_id = :o", o=value)
        if kind == "person":
            return self._server(
                raw,
                lambda c: _item_ids(c.search_assets(visibility=None, person_ids=[value], with_exif=False)),
            )
        return self._server(raw, lambda c: _item_ids(c.search_raw(json.loads(value))))


def _item_ids(pages: Iterator[list[dict[str, Any]]]) -> Iterator[str]:
    for page in pages:
        for item in page:
            yield str(item["id"])


def configured_links(exclude: Iterable[str], only: Iterable[str]) -> list[tuple[Section, str]]:
    return [("exclude", link) for link in exclude] + [("only", link) for link in only]


def resolve_links(
    engine: Engine,
    links: list[tuple[Section, str]],
    *,
    server_base: Callable[[], str],
    client: Callable[[], ImmichClient],
) -> list[Resolution]:
    """Parse and resolve every link (nothing is written); the first bad link raises."""
    if not links:
        return []
    base = server_base() if any(not is_bare_id(raw) for _s, raw in links) else "http://localhost"
    parsed = [(section, raw, parse_link(raw, base)) for section, raw in links]
    with engine.connect() as conn:
        resolver = Resolver(conn, client)
        found = []
        for section, raw, target in parsed:
            assets = resolver.resolve(raw, target)
            found.append(Resolution(section, raw, target, assets, *resolver.targets(target)))
        return found


def write_scope(engine: Engine, resolutions: list[Resolution]) -> None:
    """Make ``scope_exclude``/``scope_only`` hold exactly the resolved assets, in one transaction."""
    only = [r for r in resolutions if r.section == "only"]
    if only and not any(r.asset_ids for r in only):
        # An empty scope_only means "no restriction": an `only:` that selects nothing must not
        # silently become "everything".
        links = ", ".join(_shown(r.link) for r in only)
        raise ConfigError(f"only: {links} select no asset; refusing to classify the whole library")
    with engine.begin() as conn:
        for table in ("scope_exclude", "scope_only", "scope_exclude_albums", "scope_exclude_tags"):
            conn.execute(text(f"DELETE FROM {table}"))
        for section in ("exclude", "only"):
            rows = [
                {"a": asset_id, "s": r.link}
                for r in resolutions
                if r.section == section
                for asset_id in sorted(r.asset_ids)
            ]
            if rows:
                conn.execute(text(f"INSERT OR IGNORE INTO scope_{section} (asset_id, source) VALUES (:a, :s)"), rows)
        excluded = [r for r in resolutions if r.section == "exclude"]
        albums = [{"a": a, "s": r.link} for r in excluded for a in sorted(r.album_ids)]
        tags = [{"t": t, "s": r.link} for r in excluded for t in sorted(r.tag_values)]
        if albums:
            conn.execute(text("INSERT OR IGNORE INTO scope_exclude_albums (album_id, source) VALUES (:a, :s)"), albums)
        if tags:
            conn.execute(text("INSERT OR IGNORE INTO scope_exclude_tags (tag_value, source) VALUES (:t, :s)"), tags)


def session_base(session: Session) -> str:
    """The server links must point at: the configured URL, else the client's (tests inject one)."""
    url = session.cfg.immich.url
    return normalize_server_url(url) if url else session.client.base_url


def resolve_config_links(session: Session) -> list[Resolution]:
    """Every ``exclude:``/``only:`` link of the session's config, resolved (nothing written)."""
    return resolve_links(
        session.engine,
        configured_links(session.cfg.exclude, session.cfg.only),
        server_base=lambda: session_base(session),
        client=lambda: session.client,
    )


def apply_scope(session: Session) -> list[Resolution]:
    """Resolve the config's links and rewrite the scope tables (``session.classify`` calls this first)."""
    resolutions = resolve_config_links(session)
    write_scope(session.engine, resolutions)
    return resolutions
