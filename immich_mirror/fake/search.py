"""`POST /search/metadata` and `/search/statistics`: filtering, ordering and paging.

A query's full, ordered result is computed once and cached per library revision, so a client
walking 100 pages of an unchanging library costs one filter+sort and 100 slices. A selective query
costs about its result, not the library: each filter that can name its candidates (an id, tags
through their closure, albums, a date range through `indexes.DateIndexes`, hasTags/hasAlbums)
offers them as a source, the smallest source is read, and every predicate still runs on each
candidate, so the sources only ever narrow, never decide. Legacy paging
orders by `fileCreatedAt` (the real server has no tie-breaker; the fake breaks ties by id so a
stable library pages without overlap), the 3.2 body by its `orderBy` field then id.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from immich_mirror.fake.http_errors import Check, not_found
from immich_mirror.fake.indexes import RANGE_OPS, DateIndexes
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import VISIBILITIES, FakeAsset, parse_dt

Pred = Callable[[FakeAsset], bool]
NEW_SHAPE_KEYS = ("filter", "orderBy", "cursor")
_NEW_SHAPE_ALLOWED = {"filter", "orderBy", "cursor", "size", "withExif", "withPeople", "withStacked"}
_DATE_FIELDS = {
    "createdAfter": ("created_at", "gte"), "createdBefore": ("created_at", "lte"),
    "updatedAfter": ("updated_at", "gte"), "updatedBefore": ("updated_at", "lte"),
    "takenAfter": ("file_created_at", "gte"), "takenBefore": ("file_created_at", "lte"),
    "trashedAfter": ("deleted_at", "gte"), "trashedBefore": ("deleted_at", "lte"),
}
_TEXT_FIELDS = {"originalFileName": "original_file_name", "originalPath": "original_path",
                "description": "description"}
_EXACT_FIELDS = {"id": "id", "checksum": "checksum", "libraryId": "library_id", "type": "type",
                 "make": "make", "model": "model", "city": "city", "state": "state", "country": "country",
                 "deviceId": "device_id", "deviceAssetId": "device_asset_id"}
_ORDER_FIELDS = {"fileCreatedAt": "file_created_at", "localDateTime": "local_date_time",
                 "fileSizeInBytes": "file_size_in_byte", "rating": "rating"}
# Ordered results kept per revision: enough for a sync's interleaved walks, bounded for long runs.
_CACHE_SIZE = 8


@dataclass
class _Plan:
    """A query as predicates every row passes, and sources: id collections each holding every row."""

    preds: list[Pred] = field(default_factory=list)
    sources: list[Collection[str]] = field(default_factory=list)


@dataclass
class SearchResult:
    assets: list[FakeAsset]
    next_page: str | None
    next_cursor: str | None
    new_shape: bool


class SearchEngine:
    def __init__(self, library: FakeLibrary, version: str) -> None:
        self.lib = library
        self.version = version
        self._cache: dict[str, list[FakeAsset]] = {}
        self._cache_revision = -1
        self.dates = DateIndexes(library)
        # False reads every asset instead of the smallest source: tests compare both answers.
        self.use_sources = True
        # Assets read by the predicates so far: tests check a selective query reads few.
        self.examined = 0

    @property
    def v2(self) -> bool:
        return self.version.startswith("2.")

    def is_new_shape(self, body: dict[str, Any]) -> bool:
        # 3.1.0 has no such fields and silently ignores them (recorded); 3.2 switches shape.
        return self.version >= "3.2" and any(k in body for k in NEW_SHAPE_KEYS)

    def search(self, user_id: str, body: dict[str, Any]) -> SearchResult:
        check = Check(self.version)
        size = check.integer(body, "size", low=1, high=1000) or 250
        if self.is_new_shape(body):
            mixed = sorted(set(body) - _NEW_SHAPE_ALLOWED)
            if mixed:
                check.add("", {"code": "custom", "path": [],
                               "message": f"Flat search fields cannot be combined with filter: {mixed}"})
            offset = self._decode_cursor(body.get("cursor"), check)
            check.done()
            ordered = self._ordered(user_id, body, new_shape=True)
            page = ordered[offset:offset + size]
            more = len(ordered) > offset + size
            return SearchResult(page, None, _encode_cursor(offset + size) if more else None, True)
        page_no = check.integer(body, "page", low=1, coerce=self.v2) or 1
        check.done()
        ordered = self._ordered(user_id, body, new_shape=False)
        start = (page_no - 1) * size
        more = len(ordered) > start + size
        return SearchResult(ordered[start:start + size], str(page_no + 1) if more else None, None, False)

    def count(self, user_id: str, body: dict[str, Any]) -> int:
        return len(self.rows(user_id, body))

    def rows(self, user_id: str, body: dict[str, Any]) -> list[FakeAsset]:
        """Every row the query matches, in page order (all pages at once)."""
        return self._ordered(user_id, body, new_shape=self.is_new_shape(body))

    @property
    def cached_queries(self) -> int:
        return len(self._cache)

    def _decode_cursor(self, cursor: object, check: Check) -> int:
        if cursor is None:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
            return max(0, int(data["offset"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            check.add("", {"code": "custom", "path": ["cursor"], "message": "Invalid cursor"})
            return 0

    def _ordered(self, user_id: str, body: dict[str, Any], *, new_shape: bool) -> list[FakeAsset]:
        if self._cache_revision != self.lib.revision:
            self._cache.clear()
            self._cache_revision = self.lib.revision
        paging = {"page", "size", "withExif", "withPeople", "withStacked", "cursor"}
        key = json.dumps([user_id, new_shape, {k: v for k, v in body.items() if k not in paging}],
                         sort_keys=True, default=str)
        cached = self._cache.pop(key, None)
        if cached is not None:
            self._cache[key] = cached  # most recently used last
            return cached
        check = Check(self.version)
        plan = _Plan()
        if new_shape:
            self._new_shape_filter(user_id, body.get("filter") or {}, check, plan)
            order = body.get("orderBy") or {}
            if isinstance(order, list):
                order = order[0] if order else {}
            field = _ORDER_FIELDS.get(str(order.get("field", "fileCreatedAt")), "file_created_at")
            descending = str(order.get("direction", "desc")) == "desc"
        else:
            self._legacy_filter(user_id, body, check, plan)
            field = "file_created_at"
            descending = body.get("order", "desc") != "asc"
        check.done()
        preds = plan.preds
        rows = [a for a in self._candidates(plan) if all(p(a) for p in preds)]
        present = [a for a in rows if getattr(a, field) is not None]
        missing = [a for a in rows if getattr(a, field) is None]  # NULLS LAST either way
        present.sort(key=lambda a: (getattr(a, field), a.id), reverse=descending)
        missing.sort(key=lambda a: a.id, reverse=descending)
        result = present + missing
        self._cache[key] = result
        while len(self._cache) > _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        return result

    def _candidates(self, plan: _Plan) -> list[FakeAsset]:
        """The assets of the smallest source (in no particular order), or all of them."""
        assets = self.lib.assets
        if plan.sources and self.use_sources:
            found = [assets[i] for i in min(plan.sources, key=len) if i in assets]
        else:
            found = list(assets.values())
        self.examined += len(found)
        return found

    # -- scope ----------------------------------------------------------------------------

    def _scope(self, user_id: str, album_ids: list[str], any_album: bool, plan: _Plan) -> None:
        """Own and partners' assets; with albums, the assets of those albums (shared ones too)."""
        lib = self.lib
        if album_ids:
            sets = []
            for album_id in album_ids:
                album = lib.albums.get(album_id)
                if album is None or (album.owner_id != user_id and user_id not in album.shared_with):
                    raise not_found("album.read")
                sets.append(set(album.members))
            ids = set.union(*sets) if any_album else set.intersection(*sets)
            plan.preds.insert(0, lambda a: a.id in ids)
            plan.sources.append(ids)
            return
        owners = {user_id} | lib.partners.get(user_id, set())
        plan.preds.insert(0, lambda a: a.owner_id in owners)

    def _in_album_ids(self) -> set[str]:
        return {aid for album in self.lib.albums.values() for aid in album.members}

    def _tag_match(self, tag_ids: list[str], user_id: str, mode: str,
                   sources: list[Collection[str]] | None) -> Pred:
        """Tags match through the closure: a parent tag also matches its descendants' assets.

        With `sources`, "all" offers the intersection of the tags' closures and "any" their union.
        """
        lib = self.lib
        groups: list[set[str]] = []
        for tid in tag_ids:
            tag = lib.tags.get(tid)
            if tag is None or tag.user_id != user_id:
                groups.append(set())
                continue
            members: set[str] = set()
            for sub in lib.descendants(tid):
                members |= lib.tag_members.get(sub, set())
            groups.append(members)
        if mode == "all":
            if sources is not None and groups:
                sources.append(set.intersection(*groups))
            return lambda a: all(a.id in g for g in groups)
        if mode == "any":
            if sources is not None and groups:
                sources.append(set.union(*groups))
            return lambda a: any(a.id in g for g in groups)
        return lambda a: not any(a.id in g for g in groups)

    def _person_match(self, person_ids: list[str], user_id: str, mode: str) -> Pred:
        """Only people added with ``FakeLibrary.add_person`` are in any photo (no machine learning)."""
        groups = []
        for pid in person_ids:
            person = self.lib.people.get(pid)
            groups.append(set(person.asset_ids) if person and person.owner_id == user_id else set())
        if mode == "all":
            return lambda a: all(a.id in g for g in groups)
        if mode == "any":
            return lambda a: any(a.id in g for g in groups)
        return lambda a: not any(a.id in g for g in groups)

    # -- legacy flat body -----------------------------------------------------------------

    def _legacy_filter(self, user_id: str, body: dict[str, Any], check: Check, plan: _Plan) -> None:
        preds = plan.preds
        album_ids = check.uuids(body, "albumIds", required=False)
        tag_ids = check.uuids(body, "tagIds", required=False)
        person_ids = check.uuids(body, "personIds", required=False)
        visibility = check.choice(body, "visibility", VISIBILITIES)
        with_deleted = check.boolean(body, "withDeleted")
        check.choice(body, "order", ("asc", "desc"))
        for key in ("isFavorite", "isOffline", "isNotInAlbum", "isEncoded", "isMotion", "withExif"):
            check.boolean(body, key)
        dates = {key: check.date(body, key) for key in _DATE_FIELDS}
        check.done()
        allowed: tuple[str, ...]
        if visibility is None:
            allowed = ("timeline",) if self.v2 else ("timeline", "archive", "hidden")
        elif visibility == "locked":
            allowed = ()  # needs an elevated (PIN) session, never an API key
        else:
            allowed = (visibility,)
        preds.append(lambda a: a.visibility in allowed)
        trash_dates = dates["trashedAfter"] or dates["trashedBefore"]
        if trash_dates:
            preds.append(lambda a: a.deleted_at is not None)
        elif not with_deleted and not body.get("isOffline"):
            preds.append(lambda a: a.deleted_at is None)
        for key, value in dates.items():
            if value is not None:
                attr, op = _DATE_FIELDS[key]
                preds.append(_date_cmp(attr, _COMPARE[op], value))
                plan.sources.append(self.dates.ids_in_range(attr, op, value))
        for key, attr in _EXACT_FIELDS.items():
            if key in body and (key != "deviceId" or self.v2):
                expected = body[key]
                preds.append(_eq(attr, expected))
                if attr == "id":
                    plan.sources.append(_id_source([expected]))
        for key, attr in _TEXT_FIELDS.items():
            if body.get(key):
                needle = str(body[key]).lower()
                preds.append(_contains(attr, needle))
        for key, attr in (("isFavorite", "is_favorite"), ("isOffline", "is_offline")):
            if body.get(key) is not None:
                preds.append(_eq(attr, body[key]))
        if "rating" in body:
            rating = body["rating"]
            preds.append(lambda a: a.rating == rating)
        if "tagIds" in body and body["tagIds"] is None:
            tagged = {aid for members in self.lib.tag_members.values() for aid in members}
            preds.append(lambda a: a.id not in tagged)
        elif tag_ids:
            preds.append(self._tag_match(tag_ids, user_id, "all", plan.sources))
        if person_ids:
            preds.append(self._person_match(person_ids, user_id, "all"))
        if body.get("isNotInAlbum") and not album_ids:
            in_album = self._in_album_ids()
            preds.append(lambda a: a.id not in in_album)
        self._scope(user_id, album_ids, any_album=False, plan=plan)

    # -- 3.2 structured body --------------------------------------------------------------

    def _new_shape_filter(self, user_id: str, flt: dict[str, Any], check: Check, plan: _Plan) -> None:
        if not isinstance(flt, dict):
            check.missing_type("filter", "object", flt, "filter must be an object")
            plan.preds.append(lambda a: False)
            return
        preds = plan.preds
        preds += self._branch_preds(user_id, flt, check, plan.sources)
        branches = flt.get("or")
        if isinstance(branches, list) and branches:
            alternatives = [self._branch_preds(user_id, b, check, None) for b in branches if isinstance(b, dict)]
            preds.append(lambda a: any(all(p(a) for p in alt) for alt in alternatives))
        if "visibility" not in flt:
            preds.append(lambda a: a.visibility != "locked")
        album_filter = flt.get("albumIds") if isinstance(flt.get("albumIds"), dict) else {}
        assert isinstance(album_filter, dict)
        scope_albums = list(album_filter.get("any") or album_filter.get("all") or [])
        self._scope(user_id, scope_albums, any_album="any" in album_filter, plan=plan)

    def _branch_preds(self, user_id: str, flt: dict[str, Any], check: Check,
                      sources: list[Collection[str]] | None) -> list[Pred]:
        """The predicates of one filter object; with `sources`, also what narrows its candidates."""
        preds: list[Pred] = []
        for key, attr in (("updatedAt", "updated_at"), ("createdAt", "created_at"),
                          ("takenAt", "file_created_at"), ("trashedAt", "deleted_at"),
                          ("localDateTime", "local_date_time")):
            spec = flt.get(key)
            if isinstance(spec, dict):
                preds += _date_filter(attr, spec, check, key)
                if sources is not None:
                    sources += self._date_sources(attr, spec)
        for key, attr in (("visibility", "visibility"), ("type", "type"), ("id", "id"),
                          ("ownerId", "owner_id"), ("libraryId", "library_id"),
                          ("originalFileName", "original_file_name"), ("originalPath", "original_path")):
            spec = flt.get(key)
            if isinstance(spec, dict):
                preds += _string_filter(attr, spec)
                if attr == "id" and sources is not None:
                    if "eq" in spec:
                        sources.append(_id_source([spec["eq"]]))
                    if isinstance(spec.get("in"), list):
                        sources.append(_id_source(spec["in"]))
        for key, attr in (("isFavorite", "is_favorite"), ("isOffline", "is_offline")):
            spec = flt.get(key)
            if isinstance(spec, dict) and "eq" in spec:
                preds.append(_eq(attr, spec["eq"]))
        tags = flt.get("tagIds")
        if isinstance(tags, dict):
            for mode in ("all", "any", "none"):
                if tags.get(mode):
                    preds.append(self._tag_match(list(tags[mode]), user_id, mode, sources))
        people = flt.get("personIds")
        if isinstance(people, dict):
            for mode in ("all", "any", "none"):
                if people.get(mode):
                    preds.append(self._person_match(list(people[mode]), user_id, mode))
        albums = flt.get("albumIds")
        if isinstance(albums, dict) and albums.get("none"):
            excluded = {aid for al in albums["none"] if al in self.lib.albums
                        for aid in self.lib.albums[al].members}
            preds.append(lambda a: a.id not in excluded)
        for key, ids in (("hasAlbums", self._in_album_ids),
                         ("hasTags", lambda: {a for m in self.lib.tag_members.values() for a in m}),
                         ("hasPeople", set)):
            spec = flt.get(key)
            if isinstance(spec, dict) and "eq" in spec:
                members = ids()
                preds.append(_member(members, bool(spec["eq"])))
                if spec["eq"] and sources is not None:
                    sources.append(members)
        return preds

    def _date_sources(self, attr: str, spec: dict[str, Any]) -> list[Collection[str]]:
        """Index ranges for the valid bounds of a date filter (invalid ones fail validation)."""
        found: list[Collection[str]] = []
        for op, raw in spec.items():
            if op not in RANGE_OPS or raw is None:
                continue
            try:
                value = parse_dt(str(raw))
            except ValueError:
                continue
            found.append(self.dates.ids_in_range(attr, op, value))
        return found


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _id_source(values: list[Any]) -> set[str]:
    # Asset ids are strings: anything else matches no asset.
    return {v for v in values if isinstance(v, str)}


def _date_filter(attr: str, spec: dict[str, Any], check: Check, key: str) -> list[Pred]:
    preds: list[Pred] = []
    for op, raw in spec.items():
        if raw is None:
            if op == "eq":
                preds.append(lambda a: getattr(a, attr) is None)
            elif op == "ne":
                preds.append(lambda a: getattr(a, attr) is not None)
            continue
        try:
            value = parse_dt(str(raw))
        except ValueError:
            check.add("", {"code": "invalid_format", "format": "datetime", "path": ["filter", key, op],
                           "message": "Invalid ISO datetime"})
            continue
        compare = _COMPARE.get(op)
        if compare is not None:
            preds.append(_date_cmp(attr, compare, value))
    return preds


def _string_filter(attr: str, spec: dict[str, Any]) -> list[Pred]:
    preds: list[Pred] = []
    for op, value in spec.items():
        if op == "eq":
            preds.append(_eq(attr, value))
        elif op == "ne":
            preds.append(_negate(_eq(attr, value)))
        elif op == "in":
            preds.append(_one_of(attr, tuple(value)))
        elif op == "notIn":
            preds.append(_negate(_one_of(attr, tuple(value))))
        elif op == "like":
            preds.append(_contains(attr, str(value).strip("%").lower()))
        elif op == "notLike":
            preds.append(_negate(_contains(attr, str(value).strip("%").lower())))
        elif op == "startsWith":
            preds.append(_text_test(attr, str(value), str.startswith))
        elif op == "endsWith":
            preds.append(_text_test(attr, str(value), str.endswith))
    return preds


# Factories rather than lambdas in loops: each predicate binds its own values.


def _eq(attr: str, expected: object) -> Pred:
    return lambda a: bool(getattr(a, attr) == expected)


def _one_of(attr: str, values: tuple[object, ...]) -> Pred:
    return lambda a: getattr(a, attr) in values


def _negate(pred: Pred) -> Pred:
    return lambda a: not pred(a)


def _contains(attr: str, needle: str) -> Pred:
    return lambda a: needle in str(getattr(a, attr) or "").lower()


def _text_test(attr: str, value: str, test: Callable[[str, str], bool]) -> Pred:
    return lambda a: test(str(getattr(a, attr) or ""), value)


def _member(members: set[str], wanted: bool) -> Pred:
    return lambda a: (a.id in members) == wanted


def _date_cmp(attr: str, compare: Callable[[datetime, datetime], bool], value: datetime) -> Pred:
    def pred(a: FakeAsset) -> bool:
        current = getattr(a, attr)
        return current is not None and compare(current, value)

    return pred


_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}
