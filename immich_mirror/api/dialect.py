"""Everything that differs between Immich versions, behind one small object.

Chosen once from ``GET /api/server/version``:

========  ==========================================================================================
family    what changes
========  ==========================================================================================
``v2``    2.x. Search without ``visibility`` means timeline only; errors ``{message, error, ...}``;
          albums carry ``ownerId``/``owner``; ``GET /albums`` = owned, ``?shared=true`` = every
          shared album (owned or not), ``isOwned`` is silently ignored.
``v3.0``  3.0 and 3.1. Search without ``visibility`` means all but locked; ``page`` must be an
          integer (``nextPage`` still comes back as a string); albums lost ``ownerId``/``owner``
          (owner = ``albumUsers`` entry with role ``owner``); ``?isOwned=true|false``. A 3.1 server
          silently **ignores** the 3.2 ``filter`` body, so it is never sent there.
``v3.2``  3.2 and newer. The structured body ``{filter, orderBy, cursor}`` with ``nextCursor``.
========  ==========================================================================================

Rules on every version: ``page`` is always an integer, and a walk asks for every visibility an API key
can see in as few walks as the server allows. ``visibility`` is sent explicitly wherever the server's
default is not all of them: on 2.x one walk per visibility; 3.0 and 3.1 answer a body without
``visibility`` with timeline + archive + hidden ("not locked", recording
``search_metadata_no_visibility.json``), so everything is one walk there (the legacy body) as on 3.2
(the structured body with ``visibility: {in: [...]}``). ``locked`` needs a PIN session, which an API
key never has, so no walk ever asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from immich_mirror.errors import UnexpectedResponse, UnsupportedServer

from .models import Album, ServerVersion

Family = Literal["v2", "v3.0", "v3.2"]

#: What ``visibility=None`` means: everything an API key can see. ``locked`` needs a PIN-unlocked
#: session, which API keys never have.
ALL_VISIBILITIES: tuple[str, ...] = ("timeline", "archive", "hidden")
MIN_VERSION = (2, 0, 0)
#: Newest minor this code knows. Newer servers are accepted; the caller warns.
NEWEST_KNOWN = (3, 2)
MAX_PAGE_SIZE = 1000
NEW_SHAPE_KEYS = frozenset({"filter", "orderBy", "cursor"})


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("updated_after must be timezone-aware (Immich compares in UTC)")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_new_shape(body: Mapping[str, Any]) -> bool:
    """True for a 3.2 structured search body (Immich's own test: any of filter/orderBy/cursor)."""
    return any(key in body for key in NEW_SHAPE_KEYS)


@dataclass(frozen=True)
class SearchWalk:
    """One paged walk over ``POST /search/metadata``: the first body and how to page it."""

    body: dict[str, Any]
    cursor_paging: bool


@dataclass(frozen=True)
class Dialect:
    version: ServerVersion
    family: Family

    @property
    def newer_than_known(self) -> bool:
        """True when the server is newer than the newest minor this code was checked against."""
        return (self.version.major, self.version.minor) > NEWEST_KNOWN

    @property
    def cursor_search(self) -> bool:
        return self.family == "v3.2"

    @property
    def one_walk_for_all_visibilities(self) -> bool:
        """True when one search returns timeline, archive and hidden together (3.0 and newer)."""
        return self.family != "v2"

    # ---- search -------------------------------------------------------------------------------

    def search_walks(
        self,
        *,
        visibility: str | None,
        with_deleted: bool,
        updated_after: datetime | None,
        album_ids: Sequence[str],
        tag_ids: Sequence[str],
        person_ids: Sequence[str],
        with_exif: bool,
        size: int,
        extra: Mapping[str, Any] | None,
    ) -> list[SearchWalk]:
        """The walks that together return the requested assets (several on v2/3.0-3.1)."""
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {MAX_PAGE_SIZE}, not {size}")
        visibilities = ALL_VISIBILITIES if visibility is None else (visibility,)
        if self.cursor_search:
            filt: dict[str, Any] = {"visibility": {"in": list(visibilities)}}
            if not with_deleted:
                # The structured body has no "exclude trashed" default; ask for it.
                filt["trashedAt"] = {"eq": None}
            if updated_after is not None:
                filt["updatedAt"] = {"gte": _iso(updated_after)}
            for key, ids in (("albumIds", album_ids), ("tagIds", tag_ids), ("personIds", person_ids)):
                if ids:
                    filt[key] = {"all": list(ids)}  # the flat fields were AND as well
            body: dict[str, Any] = {
                "filter": filt,
                "orderBy": {"field": "fileCreatedAt", "direction": "asc"},
                "size": size,
                "withExif": with_exif,
            }
            for key, value in (extra or {}).items():
                if key == "filter" and isinstance(value, Mapping):
                    filt.update(value)
                else:
                    body[key] = value
            return [SearchWalk(body, cursor_paging=True)]

        walks = []
        # 3.0/3.1 without ``visibility`` = every visibility an API key sees: one walk instead of three.
        one_walk = visibility is None and self.family == "v3.0"
        for vis in (None,) if one_walk else visibilities:
            flat: dict[str, Any] = {
                "withDeleted": with_deleted,
                "withExif": with_exif,
                "size": size,
                "page": 1,
                "order": "asc",
            }
            if vis is not None:
                flat["visibility"] = vis
            if updated_after is not None:
                flat["updatedAfter"] = _iso(updated_after)
            for key, ids in (("albumIds", album_ids), ("tagIds", tag_ids), ("personIds", person_ids)):
                if ids:
                    flat[key] = list(ids)
            if extra and is_new_shape(extra):  # a 3.1 server would ignore it and return everything
                raise UnsupportedServer(f"the Immich 3.2 search syntax was asked of Immich {self.version}")
            flat.update(extra or {})
            walks.append(SearchWalk(flat, cursor_paging=False))
        return walks

    def raw_walks(self, body: Mapping[str, Any]) -> list[SearchWalk]:
        """The walks replaying a user's search JSON (from a pasted web link) on this server.

        A body without a visibility selects every visibility an API key can see, as every other walk
        does: 3.x answers it so by itself, 2.x (timeline only) gets one walk per visibility, so the same
        link selects the same assets on each.
        """
        first = dict(body)
        if is_new_shape(first):
            if not self.cursor_search:
                raise UnsupportedServer(
                    f"this search uses the Immich 3.2 filter syntax, but the server is {self.version}; "
                    "it would silently ignore the filter and return every asset"
                )
            first.setdefault("size", MAX_PAGE_SIZE)
            filt = dict(first.get("filter") or {})
            filt.setdefault("visibility", {"in": list(ALL_VISIBILITIES)})
            first["filter"] = filt
            return [SearchWalk(first, cursor_paging=True)]
        first.setdefault("size", MAX_PAGE_SIZE)
        try:
            first["page"] = int(first.get("page") or 1)
        except (TypeError, ValueError):
            raise ValueError(f"search page must be a number, not {first.get('page')!r}") from None
        if "visibility" in first or self.one_walk_for_all_visibilities:
            return [SearchWalk(first, cursor_paging=False)]
        return [SearchWalk({**first, "visibility": vis}, cursor_paging=False) for vis in ALL_VISIBILITIES]

    @staticmethod
    def next_body(walk: SearchWalk, body: dict[str, Any], assets: Mapping[str, Any]) -> dict[str, Any] | None:
        """The body for the next page, or None when the walk is done."""
        if walk.cursor_paging:
            cursor = assets.get("nextCursor")
            if cursor is None:
                return None
            if not isinstance(cursor, str) or cursor == body.get("cursor"):
                raise UnexpectedResponse(f"Immich returned an unusable search cursor {cursor!r}")
            return {**body, "cursor": cursor}
        next_page = assets.get("nextPage")
        if next_page is None:
            return None
        try:
            # nextPage comes back as a string ("2"); 3.x rejects a string page with a 400.
            page = int(next_page)
        except (TypeError, ValueError):
            raise UnexpectedResponse(f"Immich returned a non-numeric nextPage {next_page!r}") from None
        if page <= int(body.get("page") or 1):
            raise UnexpectedResponse(f"Immich returned nextPage {page} after page {body.get('page')}")
        return {**body, "page": page}

    # ---- albums -------------------------------------------------------------------------------

    def album_list_params(self, *, shared_with_me: bool) -> dict[str, str]:
        if self.family == "v2":
            # v2: plain GET = owned; shared=true = every shared album, owned or not (filtered later).
            return {"shared": "true"} if shared_with_me else {}
        return {"isOwned": "false" if shared_with_me else "true"}

    @property
    def album_list_needs_me(self) -> bool:
        """v2's shared list mixes in my own shared albums; telling them apart needs my user id."""
        return self.family == "v2"

    def filter_albums(
        self, albums: Iterable[Album], *, shared_with_me: bool, me_id: str | None
    ) -> list[Album]:
        if self.family == "v2" and shared_with_me:
            return [a for a in albums if a.owner_id != me_id]
        return list(albums)

    def get_album_params(self) -> dict[str, str]:
        # v2 embeds every asset of the album unless told not to; v3 removed both the list and the flag.
        return {"withoutAssets": "true"} if self.family == "v2" else {}


def dialect_for(version: ServerVersion) -> Dialect:
    """The dialect of a server version; refuses versions older than 2.0."""
    if version.triple < MIN_VERSION:
        raise UnsupportedServer(f"Immich {version} is too old: autotag needs 2.0 or newer")
    if version.major == 2:
        return Dialect(version, "v2")
    if version.major == 3 and version.minor < 2:
        return Dialect(version, "v3.0")
    return Dialect(version, "v3.2")
