"""ImmichClient: every call the mirror and the pusher make to Immich, over one injected httpx.Client.

* The transport is injected (``http=``), so tests pass an ``httpx.MockTransport`` client or the fake
  server's ``TestClient``; :func:`open_client` builds the real one (one keep-alive connection,
  connect timeout 10 s, read timeout as configured, TLS verification unless ``--insecure``).
* URLs are absolute (``<base>/api/...``), so a client that already has a ``base_url`` works too.
* Every request goes through the one retry policy (:mod:`.retry`); every unexpected status becomes a
  typed error (:mod:`.errors`); every body is checked against the shape the caller needs, and a
  wrong one is an ``UnexpectedResponse``. The API key travels only in the ``x-api-key`` header and
  is never logged or put into a message.
* Version differences live in :class:`~.dialect.Dialect`, picked from ``GET /server/version``.
* Paging calls are generators that yield raw pages; bulk writes are chunked at ``chunk_size`` ids.
* ``requests`` (HTTP attempts, retries included) and ``bytes_received`` (decoded body bytes) are
  counted for sync summaries and benchmarks; ``last_server_date`` is the ``Date`` header of the
  latest response (a run watermark taken from the server's clock, not ours).
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson
from pydantic import BaseModel, SecretStr, ValidationError

from immich_mirror.errors import GarbledResponse, PermissionDenied, UnexpectedResponse
from immich_mirror.urls import normalize_server_url

from .dialect import NEWEST_KNOWN, Dialect, SearchWalk, dialect_for
from .errors import describe_body, error_from_response, error_from_transport, port_speaks_tls
from .models import (
    Album,
    ApiKeyInfo,
    BulkIdResult,
    DuplicateGroup,
    Person,
    ServerVersion,
    SharedLink,
    Tag,
    User,
)
from .retry import RetryPolicy

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

CHUNK_SIZE = 1000
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


_PARSED = "autotag.json"  # the body, decoded once by the request path (see _parse_now)
_NOT_JSON_TYPES = ("image/", "video/", "application/octet-stream")


def _parse_now(response: httpx.Response) -> None:
    """Decode a JSON answer inside the retried call: a body cut short, a proxy's HTML page or other
    text is then retried like a 502 instead of ending a walk of thousands of pages."""
    if response.headers.get("content-type", "").startswith(_NOT_JSON_TYPES):
        return
    try:
        response.extensions[_PARSED] = orjson.loads(response.content)
    except ValueError:
        raise GarbledResponse(f"a body that is not JSON ({describe_body(response)})", response=response) from None


def _chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


class ImmichClient:
    """A typed client for the parts of Immich's API that immich-mirror uses."""

    chunk_size = CHUNK_SIZE

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        verify: bool = True,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = normalize_server_url(base_url)
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http if http is not None else _build_http(timeout=timeout, verify=verify)
        self._retry = retry or RetryPolicy()
        self.requests = 0
        self.bytes_received = 0
        self.last_server_date: datetime | None = None
        self._version: ServerVersion | None = None
        self._dialect: Dialect | None = None
        self._me: User | None = None

    def __repr__(self) -> str:
        return f"ImmichClient({self.base_url!r})"

    # ---- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ImmichClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- the one request path -----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send ``method /api<path>`` with retries; raise a typed error unless the status is in ``expect``.

        Public as an escape hatch for endpoints without a method here. ``idempotent`` defaults to
        True for GET/HEAD/PUT/DELETE (see :mod:`.retry` for why PUT and DELETE count). The first
        call of a client fetches ``/server/version`` (once) to pick the dialect.
        """
        method = method.upper()
        if self._dialect is None and path != "/server/version":
            # Learn the version first: a too-old server or a URL that is not Immich then fails with a
            # clear message instead of a puzzling 404 from the first real call.
            _ = self.dialect
        url = f"{self.base_url}/api{path}"
        headers = {"x-api-key": self._api_key.get_secret_value(), "accept": "application/json"}
        idem = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent

        def once() -> httpx.Response:
            self.requests += 1
            response = self._http.request(method, url, params=params, json=json, headers=headers)
            self.bytes_received += len(response.content)
            self._note_date(response)
            if response.status_code not in expect:
                raise error_from_response(response, base_url=self.base_url)
            if idem and response.status_code == 200:
                _parse_now(response)
            return response

        policy = self._retry
        if path == "/server/version" and self._version is None:
            # First contact: a refused connection here is a wrong URL or port far more often than a
            # restarting server, so say so at once instead of after a minute of retries.
            policy = dataclasses.replace(policy, max_attempts=1)
        try:
            return policy.call(once, idempotent=idem, what=f"{method} /api{path}")
        except GarbledResponse as exc:
            # Retries spent: hand the last answer over, so the caller's parse names what it expected.
            assert isinstance(exc.response, httpx.Response)
            return exc.response
        except httpx.RequestError as exc:
            raise error_from_transport(
                exc, base_url=self.base_url, timeout=self._timeout, speaks_tls=lambda: port_speaks_tls(self.base_url)
            ) from exc

    def _note_date(self, response: httpx.Response) -> None:
        date = response.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                self.last_server_date = email.utils.parsedate_to_datetime(date)

    def _json(self, response: httpx.Response, expected: type | tuple[type, ...], what: str) -> Any:
        where = f"{response.request.method} {response.request.url.path}"
        try:
            # orjson: a 1000-asset page decodes about 3x faster than with the standard library.
            data = response.extensions[_PARSED] if _PARSED in response.extensions else orjson.loads(response.content)
        except ValueError:
            raise UnexpectedResponse(f"expected {what} from {where}, got {describe_body(response)}") from None
        if not isinstance(data, expected):
            raise UnexpectedResponse(f"expected {what} from {where}, got {_type_name(data)}")
        return data

    def _model(self, model: type[M], data: Any, what: str, where: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise UnexpectedResponse(f"expected {what} from {where}: {loc}: {first['msg']}") from None

    def _get_model(self, model: type[M], path: str, what: str, params: Mapping[str, str] | None = None) -> M:
        response = self.request("GET", path, params=params)
        return self._model(model, self._json(response, dict, what), what, f"GET /api{path}")

    def _models(self, model: type[M], response: httpx.Response, what: str) -> list[M]:
        data = self._json(response, list, what)
        where = f"{response.request.method} {response.request.url.path}"
        return [self._model(model, item, what, where) for item in data]

    # ---- server -------------------------------------------------------------------------------

    def server_version(self) -> ServerVersion:
        """``GET /server/version`` (cached; needs no permission)."""
        if self._version is None:
            self._version = self._get_model(ServerVersion, "/server/version", "the Immich version")
        return self._version

    @property
    def dialect(self) -> Dialect:
        """The version dialect; raises UnsupportedServer for servers older than 2.0."""
        if self._dialect is None:
            self._dialect = dialect_for(self.server_version())
            if self._dialect.newer_than_known:  # the README promises this warning
                log.warning(
                    "Immich %s is newer than the newest version autotag was tested with (%d.%d); "
                    "it should work, but run `autotag doctor` if anything looks wrong",
                    self._dialect.version, *NEWEST_KNOWN,
                )
        return self._dialect

    def ping(self) -> None:
        data = self._json(self.request("GET", "/server/ping"), dict, "a ping answer")
        if data.get("res") != "pong":
            raise UnexpectedResponse(f"expected pong from GET /api/server/ping, got {data!r:.80}")

    def me(self) -> User:
        """``GET /users/me`` (cached): the key's owner."""
        if self._me is None:
            self._me = self._get_model(User, "/users/me", "the current user")
        return self._me

    def api_key_info(self) -> ApiKeyInfo:
        """``GET /api-keys/me``: the key's permissions (needs none itself)."""
        return self._get_model(ApiKeyInfo, "/api-keys/me", "the API key's details")

    def about(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json(self.request("GET", "/server/about"), dict, "server details")
        return data

    def queues(self) -> dict[str, Any] | None:
        """Job queues by name (``GET /queues``), or None when the key's user is not an admin.

        Immich 2.7+/3.x answer a list ``[{name, isPaused, statistics}]``; it is returned keyed by
        name: ``{"sidecar": {"name": ..., "isPaused": ..., "statistics": {...}}, ...}``.
        """
        try:
            response = self.request("GET", "/queues")
        except PermissionDenied:
            return None
        data = self._json(response, (list, dict), "the job queues")
        if isinstance(data, dict):
            return data
        return {str(q.get("name")): q for q in data if isinstance(q, dict)}

    # ---- assets -------------------------------------------------------------------------------

    def search_assets(
        self,
        *,
        visibility: str | None,
        with_deleted: bool = False,
        updated_after: datetime | None = None,
        album_ids: Sequence[str] = (),
        tag_ids: Sequence[str] = (),
        person_ids: Sequence[str] = (),
        with_exif: bool = True,
        size: int = 1000,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield raw pages of asset items from ``POST /search/metadata``.

        ``visibility=None`` means every visibility an API key can see (timeline, archive, hidden;
        ``locked`` needs a PIN session). On 2.x that is one walk per visibility; on 3.0/3.1 one walk
        without ``visibility`` (which those answer with all three); on 3.2+ one structured walk.
        Trashed assets come only with ``with_deleted``. ``updated_after`` must be timezone-aware
        and is inclusive. ``album_ids``/``tag_ids``/``person_ids`` are AND (and a tag matches its
        descendants). ``extra`` is merged into the body as is (on 3.2+ a
        ``"filter"`` mapping in it is merged into the filter).

        Pages are offset-based on every version, so an asset can appear twice (or move between
        pages while the walk runs): **de-duplicating by id is the caller's job**. Items stay plain
        dicts for speed; see :class:`~.models.AssetItem` for their keys. Empty pages are not yielded.
        """
        walks = self.dialect.search_walks(
            visibility=visibility, with_deleted=with_deleted, updated_after=updated_after,
            album_ids=album_ids, tag_ids=tag_ids, person_ids=person_ids, with_exif=with_exif,
            size=size, extra=extra,
        )
        for walk in walks:
            yield from self._walk(walk)

    def search_raw(self, body: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Replay a search JSON (a pasted ``/search?query=`` link), paging as its shape requires.

        The body is sent as given (``size`` defaults to 1000, ``page`` is made an integer, a missing
        visibility is asked for explicitly). A 3.2 structured body is refused on older servers, which
        would silently ignore its filter.
        """
        for walk in self.dialect.raw_walks(body):
            yield from self._walk(walk)

    def _walk(self, walk: SearchWalk) -> Iterator[list[dict[str, Any]]]:
        body: dict[str, Any] | None = walk.body
        while body is not None:
            response = self.request("POST", "/search/metadata", json=body, idempotent=True)
            data = self._json(response, dict, "a search result")
            assets = data.get("assets")
            if not isinstance(assets, dict) or not isinstance(assets.get("items"), list):
                raise UnexpectedResponse(
                    "expected a search result with assets.items from POST /api/search/metadata, "
                    f"got keys {sorted(data)[:6]}"
                )
            items: list[dict[str, Any]] = assets["items"]
            if items:
                yield items
            body = Dialect.next_body(walk, body, assets)

    def asset_statistics(self, *, visibility: str | None = None, trashed: bool = False) -> dict[str, Any]:
        """``GET /assets/statistics``: ``{images, videos, total}`` of the owner's assets; by default the
        non-trashed timeline + archive ones, else those of one ``visibility`` and/or in the trash."""
        params = {"visibility": visibility} if visibility else {}
        if trashed:
            params["isTrashed"] = "true"
        response = self.request("GET", "/assets/statistics", params=params or None)
        data: dict[str, Any] = self._json(response, dict, "asset statistics")
        return data

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        """``GET /assets/{id}``: the full asset, including its direct ``tags[]`` (search items lack them)."""
        data: dict[str, Any] = self._json(self.request("GET", f"/assets/{asset_id}"), dict, "an asset")
        return data

    def thumbnail(self, asset_id: str, size: str = "thumbnail") -> tuple[bytes, str]:
        """``GET /assets/{id}/thumbnail?size=``: the image and its content type (needs ``asset.view``)."""
        response = self.request("GET", f"/assets/{quote(asset_id, safe='')}/thumbnail", params={"size": size})
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def update_assets(self, ids: Sequence[str], /, **fields: Any) -> None:
        """Bulk ``PUT /assets {ids, **fields}`` (204), chunked. Fields use Immich's names:
        ``isFavorite``, ``visibility``, ``dateTimeOriginal``, ``dateTimeRelative`` (minutes),
        ``timeZone``, ``duplicateId``, ``rating``, ``description``, ``latitude``, ``longitude``."""
        if "ids" in fields:
            raise ValueError("pass the asset ids as the first argument, not as a field")
        for chunk in _chunks(ids, self.chunk_size):
            # Immich answers 204 with no body; a 200 (a proxy's login page, say) did not reach it.
            self.request("PUT", "/assets", json={"ids": chunk, **fields}, expect=(204,))

    def run_asset_jobs(self, ids: Sequence[str], name: str) -> None:
        """``POST /assets/jobs {assetIds, name}`` (e.g. ``refresh-metadata``), chunked."""
        for chunk in _chunks(ids, self.chunk_size):
            # Re-queueing a job only repeats work, but it is work: not retried after a timeout.
            self.request("POST", "/assets/jobs", json={"assetIds": chunk, "name": name},
                         expect=(200, 201, 204), idempotent=False)

    # ---- albums -------------------------------------------------------------------------------

    def list_albums(self, *, shared_with_me: bool = False) -> list[Album]:
        """Albums the key's user owns, or (``shared_with_me``) albums other users share with them.

        Two explicit queries on every version: v2 ``GET /albums`` / ``?shared=true`` minus my own
        albums; v3 ``?isOwned=true`` / ``?isOwned=false``. ``Album.owner_id`` is set on both.
        """
        dialect = self.dialect
        params = dialect.album_list_params(shared_with_me=shared_with_me)
        albums = self._models(Album, self.request("GET", "/albums", params=params), "a list of albums")
        me_id = self.me().id if shared_with_me and dialect.album_list_needs_me else None
        return dialect.filter_albums(albums, shared_with_me=shared_with_me, me_id=me_id)

    def get_album(self, album_id: str) -> Album:
        return self._get_model(Album, f"/albums/{album_id}", "an album", self.dialect.get_album_params())

    def create_album(self, name: str, *, description: str = "", asset_ids: Sequence[str] = ()) -> Album:
        """``POST /albums``; more than ``chunk_size`` assets are added in further calls."""
        first = list(asset_ids[: self.chunk_size])
        response = self.request(
            "POST", "/albums", json={"albumName": name, "description": description, "assetIds": first},
            expect=(200, 201), idempotent=False,  # a retry after a lost answer would make two albums
        )
        data = self._json(response, dict, "the new album")
        album = self._model(Album, data, "the new album", "POST /api/albums")
        if len(asset_ids) > len(first):
            self.add_assets_to_album(album.id, asset_ids[len(first) :])
        return album

    def add_assets_to_album(self, album_id: str, ids: Sequence[str]) -> list[BulkIdResult]:
        """``PUT /albums/{id}/assets``, chunked; already-present assets come back as ``duplicate``."""
        return self._bulk_ids("PUT", f"/albums/{album_id}/assets", ids)

    def remove_assets_from_album(self, album_id: str, ids: Sequence[str]) -> list[BulkIdResult]:
        """``DELETE /albums/{id}/assets``, chunked; absent assets come back as ``not_found``."""
        return self._bulk_ids("DELETE", f"/albums/{album_id}/assets", ids)

    def delete_album(self, album_id: str) -> None:
        """``DELETE /albums/{id}``; the assets stay."""
        self.request("DELETE", f"/albums/{album_id}", expect=(204,))  # 204, as on v2.7.5 and v3.1.0

    def _bulk_ids(self, method: str, path: str, ids: Sequence[str]) -> list[BulkIdResult]:
        results: list[BulkIdResult] = []
        for chunk in _chunks(ids, self.chunk_size):
            response = self.request(method, path, json={"ids": chunk})
            results.extend(self._models(BulkIdResult, response, "a result per id"))
        return results

    # ---- tags ---------------------------------------------------------------------------------

    def list_tags(self) -> list[Tag]:
        """``GET /tags``: the key owner's tags. Key them by ``value`` (unique) or id, never by name."""
        return self._models(Tag, self.request("GET", "/tags"), "a list of tags")

    def upsert_tags(self, values: Sequence[str]) -> list[Tag]:
        """``PUT /tags {tags}``: create or reuse tags by path (parents made, only leaves returned)."""
        tags: list[Tag] = []
        for chunk in _chunks(values, self.chunk_size):
            response = self.request("PUT", "/tags", json={"tags": chunk})
            tags.extend(self._models(Tag, response, "a list of tags"))
        return tags

    def tag_assets_bulk(self, tag_ids: Sequence[str], asset_ids: Sequence[str]) -> int:
        """``PUT /tags/assets``, chunked by assets: the number of *new* (tag, asset) links.

        Ids the key cannot access are dropped silently by Immich; verify by re-reading.
        """
        if not tag_ids:
            return 0
        count = 0
        for chunk in _chunks(asset_ids, self.chunk_size):
            response = self.request("PUT", "/tags/assets", json={"tagIds": list(tag_ids), "assetIds": chunk})
            data = self._json(response, dict, "a link count")
            if not isinstance(data.get("count"), int):
                raise UnexpectedResponse(f"expected a link count from PUT /api/tags/assets, got {data!r:.80}")
            count += data["count"]
        return count

    def tag_assets(self, tag_id: str, ids: Sequence[str]) -> list[BulkIdResult]:
        """``PUT /tags/{id}/assets``, chunked; already-tagged assets come back as ``duplicate``."""
        return self._bulk_ids("PUT", f"/tags/{tag_id}/assets", ids)

    def untag_assets(self, tag_id: str, ids: Sequence[str]) -> list[BulkIdResult]:
        """``DELETE /tags/{id}/assets``, chunked. Unlike deleting the tag, this also cleans sidecars."""
        return self._bulk_ids("DELETE", f"/tags/{tag_id}/assets", ids)

    def delete_tag(self, tag_id: str) -> None:
        """``DELETE /tags/{id}`` (and its descendants). Untag first: the XMP sidecars keep the tag
        otherwise, and the next metadata refresh brings it back."""
        self.request("DELETE", f"/tags/{tag_id}", expect=(204,))  # 204, as on v2.7.5 and v3.1.0

    # ---- people -------------------------------------------------------------------------------

    def list_people(self, *, page_size: int = 1000) -> list[tuple[Person, dict[str, Any]]]:
        """``GET /people?withHidden=true`` page by page (``person.read``): each person and its raw item.

        Immich lists only people with a face on a non-archived, non-trashed asset, and an unnamed one
        only with at least the server's minimum number of faces (docs/schema.md).
        """
        out: list[tuple[Person, dict[str, Any]]] = []
        page = 1
        while True:
            params = {"withHidden": "true", "page": str(page), "size": str(page_size)}
            data = self._json(self.request("GET", "/people", params=params), dict, "a list of people")
            items = data.get("people")
            if not isinstance(items, list):
                raise UnexpectedResponse(f"expected people[] from GET /api/people, got keys {sorted(data)[:6]}")
            out += [(self._model(Person, item, "a person", "GET /api/people"), item) for item in items]
            if data.get("hasNextPage") is not True or not items:
                return out
            page += 1

    # ---- the rest -----------------------------------------------------------------------------

    def list_duplicates(self) -> list[DuplicateGroup]:
        """``GET /duplicates`` (one unpaginated call; big on big libraries)."""
        return self._models(DuplicateGroup, self.request("GET", "/duplicates"), "a list of duplicate groups")

    def list_shared_links(self) -> list[SharedLink]:
        return self._models(SharedLink, self.request("GET", "/shared-links"), "a list of shared links")


def _build_http(*, timeout: float, verify: bool) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=10.0),
        verify=verify,
        # The client is used from one thread: one keep-alive connection serves every call.
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        follow_redirects=False,  # a redirect would carry the key to another URL; explain it instead
        headers={"user-agent": "immich-mirror"},
    )


def open_client(
    url: str, api_key: str | SecretStr, *, insecure: bool = False, timeout: float = 30.0
) -> ImmichClient:
    """The real client: normalised URL, connect timeout 10 s, read ``timeout``, TLS check unless insecure."""
    return ImmichClient(url, api_key, timeout=timeout, verify=not insecure)


__all__ = ["CHUNK_SIZE", "ImmichClient", "open_client"]
