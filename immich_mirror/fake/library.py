"""`FakeLibrary`: the fake server's whole state and the rules every change follows.

Both the HTTP handlers and tests of the sync code change the "server" through the public methods
here, so the side effects the real Immich has (API-NOTES section 0b) happen the same way for
both: which timestamps move, and which changes wait for the background jobs (sidecar write, then
metadata re-extraction) before they show.

Jobs are a queue. `jobs="immediate"` (default) drains it after every change, so simple tests never
wait; `"manual"` drains only on `settle()`; `"async"` drains jobs once `job_delay_s` has passed
(checked at every request and by `settle()`), which is what a client meets on a real server.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import partial
from random import Random
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from immich_mirror.fake.state import (
    Clock,
    FakeAlbum,
    FakeApiKey,
    FakeAsset,
    FakeSharedLink,
    FakeTag,
    FakeUser,
    TickingClock,
    new_id,
    offset_label,
    offset_of_label,
    utc_now,
)

JOB_MODES = ("immediate", "manual", "async")
_ASSET_FIELDS = {f.name for f in fields(FakeAsset)}


@dataclass
class _Job:
    due: float
    asset_id: str
    kind: str
    run: Callable[[], None]


class FakeLibrary:
    """State of one fake Immich server: users, keys, assets, albums, tags and pending jobs."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        version: str = "3.1.0",
        jobs: str = "immediate",
        job_delay_s: float = 0.5,
        lost_writes_rate: float = 0.0,
        lost_writes_window_ms: float = 1000.0,
        seed: int = 0,
        bootstrap: bool = True,
        api_key: str = "fake-api-key",
    ) -> None:
        if jobs not in JOB_MODES:
            raise ValueError(f"jobs must be one of {JOB_MODES}, not {jobs!r}")
        self.lock = threading.RLock()
        self.clock = TickingClock(clock or utc_now)
        self.version = version
        self.jobs_mode = jobs
        self.job_delay_s = job_delay_s
        self.lost_writes_rate = lost_writes_rate
        self.lost_writes_window_ms = lost_writes_window_ms
        self.seed = seed
        self.rng = Random(seed)
        self.users: dict[str, FakeUser] = {}
        self.api_keys: dict[str, FakeApiKey] = {}  # by secret
        self.sessions: dict[str, str] = {}  # bearer token -> user id
        self.sync_acks: dict[str, dict[str, str]] = {}  # bearer token -> ack type -> ack
        self.partners: dict[str, set[str]] = {}  # viewer -> users whose assets show in their timeline
        self.assets: dict[str, FakeAsset] = {}
        self.albums: dict[str, FakeAlbum] = {}
        self.tags: dict[str, FakeTag] = {}
        self.tag_members: dict[str, set[str]] = {}
        self.asset_tags: dict[str, set[str]] = {}
        self.shared_links: dict[str, FakeSharedLink] = {}
        self.owner_id = ""
        # Bumped on every change: search results are cached per revision.
        self.revision = 0
        self.lost_writes = 0
        self._jobs: list[_Job] = []
        self._draining = False
        self._last_tag_write: dict[str, datetime] = {}
        if bootstrap:
            owner = self.add_user("admin@example.com", "Fake Admin", is_admin=True)
            self.add_api_key(owner.id, secret=api_key, name="fake")

    # -- users, keys, sharing -------------------------------------------------------------

    def add_user(
        self, email: str, name: str, *, id: str | None = None, is_admin: bool = False, **extra: Any
    ) -> FakeUser:
        with self.lock:
            now = self.clock.tick()
            user = FakeUser(
                id=id or new_id(self.rng), email=email, name=name, is_admin=is_admin,
                created_at=now, updated_at=now, profile_changed_at=now, **extra,
            )
            self.users[user.id] = user
            if not self.owner_id:
                self.owner_id = user.id
            self._changed()
            return user

    def add_api_key(
        self,
        user_id: str | None = None,
        *,
        secret: str | None = None,
        permissions: Iterable[str] = ("all",),
        name: str = "fake",
        id: str | None = None,
    ) -> FakeApiKey:
        with self.lock:
            now = self.clock.tick()
            key = FakeApiKey(
                id=id or new_id(self.rng), name=name, secret=secret or new_id(self.rng).replace("-", ""),
                user_id=user_id or self.owner_id, permissions=list(permissions),
                created_at=now, updated_at=now,
            )
            self.api_keys[key.secret] = key
            return key

    def add_session(self, user_id: str | None = None, token: str | None = None) -> str:
        """A login session token (`Authorization: Bearer`): only the sync endpoints need one."""
        with self.lock:
            token = token or new_id(self.rng).replace("-", "")
            self.sessions[token] = user_id or self.owner_id
            return token

    def add_partner(self, sharer_id: str, viewer_id: str | None = None) -> None:
        """`sharer_id` shares with `viewer_id` with inTimeline: search shows the sharer's assets."""
        with self.lock:
            self.partners.setdefault(viewer_id or self.owner_id, set()).add(sharer_id)
            self._changed()

    def share_album(self, album_id: str, user_id: str, role: str = "viewer") -> None:
        with self.lock:
            album = self.albums[album_id]
            album.shared_with[user_id] = role
            album.updated_at = self.clock.tick()
            self._changed()

    def create_shared_link(
        self, album_id: str | None = None, asset_ids: Iterable[str] = ()
    ) -> FakeSharedLink:
        with self.lock:
            link = FakeSharedLink(
                id=new_id(self.rng), user_id=self.owner_id, key=new_id(self.rng).replace("-", ""),
                type="ALBUM" if album_id else "INDIVIDUAL", created_at=self.clock.tick(),
                album_id=album_id, asset_ids=list(asset_ids),
            )
            self.shared_links[link.id] = link
            self._changed()
            return link

    # -- assets ---------------------------------------------------------------------------

    def add_asset(self, original_file_name: str = "IMG_0001.jpg", *, owner_id: str | None = None,
                  **values: Any) -> FakeAsset:
        """Add an asset as if uploaded now; any `FakeAsset` field may be given.

        Dates default like an upload: `date_time_original` is the EXIF date (None = none),
        `file_created_at` defaults to it or to the upload time, `local_date_time` to the EXIF date
        in its time zone.
        """
        with self.lock:
            unknown = set(values) - _ASSET_FIELDS
            if unknown:
                raise TypeError(f"unknown asset fields: {sorted(unknown)}")
            now = self.clock.tick()
            aid = values.pop("id", None) or new_id(self.rng)
            exif = values.get("date_time_original")
            file_created = values.pop("file_created_at", None) or exif or now
            local = values.pop("local_date_time", None) or _local_of(
                file_created, values.get("time_zone") if exif else None
            )
            ext = original_file_name.rsplit(".", 1)[-1].lower()
            values.setdefault("type", "VIDEO" if ext in ("mp4", "mov", "3gp", "mkv") else "IMAGE")
            values.setdefault("original_mime_type", _MIME.get(ext, "application/octet-stream"))
            values.setdefault(
                "original_path", f"/data/upload/{owner_id or self.owner_id}/{aid[:2]}/{aid[2:4]}/{aid}.{ext}"
            )
            values.setdefault("checksum", _checksum(aid))
            values.setdefault("thumbhash", _checksum("thumb" + aid)[:24])
            values.setdefault("device_asset_id", f"fake-{original_file_name}")
            asset = FakeAsset(
                id=aid, owner_id=owner_id or self.owner_id, original_file_name=original_file_name,
                file_created_at=file_created,
                file_modified_at=values.pop("file_modified_at", None) or file_created,
                local_date_time=local, created_at=values.pop("created_at", None) or now,
                updated_at=values.pop("updated_at", None) or now, **values,
            )
            self.assets[asset.id] = asset
            self._changed()
            return asset

    def update_asset(self, asset_id: str, **values: Any) -> FakeAsset:
        """Change asset fields directly (behind the client's back); bumps `updatedAt`."""
        with self.lock:
            asset = self.assets[asset_id]
            for key, value in values.items():
                if key not in _ASSET_FIELDS or key == "id":
                    raise TypeError(f"cannot set asset field {key!r}")
                setattr(asset, key, value)
            if "updated_at" not in values:
                asset.updated_at = self.clock.tick()
            self._changed()
            return asset

    def _bump(self, ids: Iterable[str], change: Callable[[FakeAsset], None]) -> int:
        with self.lock:
            count = 0
            for aid in ids:
                asset = self.assets.get(aid)
                if asset is None:
                    continue
                change(asset)
                asset.updated_at = self.clock.tick()
                count += 1
            self._changed()
            return count

    def trash(self, ids: Iterable[str]) -> int:
        def change(asset: FakeAsset) -> None:
            asset.deleted_at = asset.deleted_at or self.clock.tick()

        return self._bump(ids, change)

    def restore(self, ids: Iterable[str]) -> int:
        ids = [aid for aid in ids if aid in self.assets and self.assets[aid].is_trashed]
        return self._bump(ids, lambda a: setattr(a, "deleted_at", None))

    def purge(self, ids: Iterable[str]) -> int:
        """Delete for good: the asset leaves albums and tags, and search never returns it."""
        with self.lock:
            count = 0
            for aid in list(ids):
                if self.assets.pop(aid, None) is None:
                    continue
                count += 1
                for tid in self.asset_tags.pop(aid, set()):
                    self.tag_members.get(tid, set()).discard(aid)
                for album in self.albums.values():
                    if album.members.pop(aid, None) is not None and album.thumbnail_asset_id == aid:
                        album.thumbnail_asset_id = next(iter(album.members), None)
            self._changed()
            return count

    def set_visibility(self, ids: Iterable[str], visibility: str) -> int:
        return self._bump(ids, lambda a: setattr(a, "visibility", visibility))

    def set_favorite(self, ids: Iterable[str], favorite: bool) -> int:
        return self._bump(ids, lambda a: setattr(a, "is_favorite", favorite))

    def set_duplicate(self, ids: Iterable[str], duplicate_id: str | None) -> int:
        return self._bump(ids, lambda a: setattr(a, "duplicate_id", duplicate_id))

    def set_date(
        self,
        ids: Iterable[str],
        *,
        date_time_original: datetime | None = None,
        time_zone: str | None = None,
        relative_minutes: int | None = None,
    ) -> None:
        """Edit the EXIF date as `PUT /assets` does: EXIF at once, timeline dates after the jobs."""
        with self.lock:
            for aid in ids:
                asset = self.assets.get(aid)
                if asset is None:
                    continue
                base = asset.date_time_original or asset.file_created_at
                if date_time_original is not None:
                    base = date_time_original
                if relative_minutes:
                    base = base + timedelta(minutes=relative_minutes)
                asset.date_time_original = base
                if time_zone is not None:
                    asset.time_zone = offset_label(zone_offset(base, time_zone))
                self._queue(aid, "metadata", partial(self._apply_exif_dates, asset))
            self._changed()

    def update_exif(self, ids: Iterable[str], **values: Any) -> None:
        """Change EXIF-only fields (description, rating, GPS): at once, `updatedAt` after the jobs."""
        with self.lock:
            for aid in ids:
                asset = self.assets.get(aid)
                if asset is None:
                    continue
                for key, value in values.items():
                    setattr(asset, key, value)
                self._queue(aid, "metadata", partial(self._touch, asset))
            self._changed()

    def _touch(self, asset: FakeAsset) -> None:
        asset.updated_at = self.clock.tick()

    def _apply_exif_dates(self, asset: FakeAsset) -> None:
        if asset.date_time_original is None:
            return
        asset.file_created_at = asset.date_time_original
        asset.local_date_time = _local_of(asset.date_time_original, asset.time_zone)
        asset.updated_at = self.clock.tick()

    # -- albums ---------------------------------------------------------------------------

    def create_album(
        self,
        name: str,
        asset_ids: Iterable[str] = (),
        *,
        owner_id: str | None = None,
        description: str = "",
        id: str | None = None,
    ) -> FakeAlbum:
        with self.lock:
            now = self.clock.tick()
            album = FakeAlbum(id=id or new_id(self.rng), owner_id=owner_id or self.owner_id, name=name,
                              created_at=now, updated_at=now, description=description)
            self.albums[album.id] = album
            for aid in asset_ids:
                if aid in self.assets and aid not in album.members:
                    album.members[aid] = now
            if album.members:
                album.thumbnail_asset_id = next(iter(album.members))
                album.last_modified_asset_timestamp = now
            self._changed()
            return album

    def rename_album(self, album_id: str, name: str) -> FakeAlbum:
        with self.lock:
            album = self.albums[album_id]
            album.name = name
            album.updated_at = self.clock.tick()
            self._changed()
            return album

    def delete_album(self, album_id: str) -> None:
        with self.lock:
            self.albums.pop(album_id, None)
            self._changed()

    def add_to_album(self, album_id: str, asset_ids: Iterable[str]) -> list[tuple[str, str | None]]:
        """Add assets; per id None (added), "duplicate" or "no_permission" (unknown asset)."""
        with self.lock:
            album = self.albums[album_id]
            results: list[tuple[str, str | None]] = []
            now = self.clock.tick()
            for aid in asset_ids:
                if aid in album.members:
                    results.append((aid, "duplicate"))
                elif aid not in self.assets:
                    results.append((aid, "no_permission"))
                else:
                    album.members[aid] = now
                    results.append((aid, None))
            if any(err is None for _, err in results):
                album.updated_at = now
                album.last_modified_asset_timestamp = now
                album.thumbnail_asset_id = album.thumbnail_asset_id or next(iter(album.members))
            self._changed()
            return results

    def remove_from_album(self, album_id: str, asset_ids: Iterable[str]) -> list[tuple[str, str | None]]:
        """Remove assets; per id None (removed) or "not_found". Never bumps the album's updatedAt."""
        with self.lock:
            album = self.albums[album_id]
            results: list[tuple[str, str | None]] = []
            for aid in asset_ids:
                if album.members.pop(aid, None) is None:
                    results.append((aid, "not_found"))
                else:
                    results.append((aid, None))
                    if album.thumbnail_asset_id == aid:
                        album.thumbnail_asset_id = next(iter(album.members), None)
            # v3 moves lastModifiedAssetTimestamp on removal; v2.7.5 only the count (API-NOTES 0b).
            if any(err is None for _, err in results) and not self.version.startswith("2."):
                album.last_modified_asset_timestamp = self.clock.tick()
            self._changed()
            return results

    # -- tags -----------------------------------------------------------------------------

    def tag_by_value(self, value: str, user_id: str | None = None) -> FakeTag | None:
        user_id = user_id or self.owner_id
        for tag in self.tags.values():
            if tag.value == value and tag.user_id == user_id:
                return tag
        return None

    def create_tag(self, value: str, *, owner_id: str | None = None, color: str | None = None,
                   id: str | None = None) -> FakeTag:
        """Create the tag at path `value` and any missing parents; an existing tag is returned."""
        with self.lock:
            user_id = owner_id or self.owner_id
            parent: FakeTag | None = None
            parts = [p for p in value.split("/") if p]
            for depth in range(1, len(parts) + 1):
                path = "/".join(parts[:depth])
                tag = self.tag_by_value(path, user_id)
                if tag is None:
                    now = self.clock.tick()
                    leaf = depth == len(parts)
                    tag = FakeTag(
                        id=(id if leaf and id else new_id(self.rng)), user_id=user_id, value=path,
                        parent_id=parent.id if parent else None, created_at=now, updated_at=now,
                        color=color if leaf else None,
                    )
                    self.tags[tag.id] = tag
                    self.tag_members[tag.id] = set()
                parent = tag
            self._changed()
            assert parent is not None, "empty tag value"
            return parent

    def descendants(self, tag_id: str) -> set[str]:
        """The tag and every tag below it (Immich's tag_closure)."""
        children: dict[str, list[str]] = {}
        for tag in self.tags.values():
            if tag.parent_id:
                children.setdefault(tag.parent_id, []).append(tag.id)
        found, stack = set(), [tag_id]
        while stack:
            tid = stack.pop()
            if tid in found:
                continue
            found.add(tid)
            stack.extend(children.get(tid, ()))
        return found

    def delete_tag(self, tag_id: str) -> None:
        """Delete a tag and its descendants. The assets' sidecars keep it (API-NOTES 0b)."""
        with self.lock:
            for tid in self.descendants(tag_id):
                self.tags.pop(tid, None)
                for aid in self.tag_members.pop(tid, set()):
                    self.asset_tags.get(aid, set()).discard(tid)
            self._changed()

    def reparent_tag(self, tag_id: str, parent_id: str | None) -> FakeTag:
        """Move a tag (and its subtree) under another parent, rewriting the values."""
        with self.lock:
            tag = self.tags[tag_id]
            old_prefix = tag.value
            new_prefix = (self.tags[parent_id].value + "/" if parent_id else "") + tag.name
            now = self.clock.tick()
            for tid in self.descendants(tag_id):
                sub = self.tags[tid]
                sub.value = new_prefix + sub.value[len(old_prefix):]
                sub.updated_at = now
            tag.parent_id = parent_id
            self._changed()
            return tag

    def update_tag(self, tag_id: str, *, color: str | None = None) -> FakeTag:
        with self.lock:
            tag = self.tags[tag_id]
            tag.color = color
            tag.updated_at = self.clock.tick()
            self._changed()
            return tag

    def tag_assets(self, tag_ids: Iterable[str], asset_ids: Iterable[str]) -> int:
        """Link every tag to every asset; returns the number of new links (as `PUT /tags/assets`)."""
        with self.lock:
            tag_ids = [t for t in tag_ids if t in self.tags]
            added: dict[str, set[str]] = {}
            for aid in asset_ids:
                if aid not in self.assets:
                    continue
                for tid in tag_ids:
                    if aid not in self.tag_members[tid]:
                        self.tag_members[tid].add(aid)
                        self.asset_tags.setdefault(aid, set()).add(tid)
                        added.setdefault(aid, set()).add(tid)
            now = self.clock.tick() if added else None
            for tid in {t for ts in added.values() for t in ts}:
                assert now is not None
                self.tags[tid].updated_at = now
            for aid, tids in added.items():
                self._tag_write(aid, added=tids, removed=set())
            self._changed()
            return sum(len(t) for t in added.values())

    def untag_assets(self, tag_ids: Iterable[str], asset_ids: Iterable[str]) -> int:
        """Remove links; returns how many existed."""
        with self.lock:
            tag_ids = [t for t in tag_ids if t in self.tags]
            removed: dict[str, set[str]] = {}
            for aid in asset_ids:
                for tid in tag_ids:
                    if aid in self.tag_members[tid]:
                        self.tag_members[tid].discard(aid)
                        self.asset_tags.get(aid, set()).discard(tid)
                        removed.setdefault(aid, set()).add(tid)
            for aid, tids in removed.items():
                self._tag_write(aid, added=set(), removed=tids)
            self._changed()
            return sum(len(t) for t in removed.values())

    def _tag_write(self, asset_id: str, *, added: set[str], removed: set[str]) -> None:
        """Queue the sidecar write + re-extraction that follow a tag write, maybe losing it.

        A write that lands within the window after a previous one to the same asset, while that
        one's jobs are still pending, is overwritten by the re-extraction with the given
        probability (API-NOTES 0b: ~10% of quick successive writes on both versions).
        """
        now = self.clock.peek()
        last = self._last_tag_write.get(asset_id)
        pending = self.jobs_mode == "immediate" or any(j.asset_id == asset_id for j in self._jobs)
        racing = (
            last is not None and pending
            and (now - last).total_seconds() * 1000 < self.lost_writes_window_ms
        )
        lost = racing and self.lost_writes_rate > 0 and self.rng.random() < self.lost_writes_rate
        self._last_tag_write[asset_id] = now
        undo_add, undo_remove = (set(added), set(removed)) if lost else (set(), set())
        self._queue(asset_id, "sidecar", lambda: self._sidecar_job(asset_id, undo_add, undo_remove))

    def _sidecar_job(self, asset_id: str, undo_add: set[str], undo_remove: set[str]) -> None:
        asset = self.assets.get(asset_id)
        if asset is None:
            return
        if undo_add or undo_remove:
            self.lost_writes += 1
        for tid in undo_add:
            if tid in self.tags:
                self.tag_members[tid].discard(asset_id)
                self.asset_tags.get(asset_id, set()).discard(tid)
        for tid in undo_remove:
            if tid in self.tags:
                self.tag_members[tid].add(asset_id)
                self.asset_tags.setdefault(asset_id, set()).add(tid)
        asset.sidecar_tags = {self.tags[t].value for t in self.asset_tags.get(asset_id, set())}
        asset.updated_at = self.clock.tick()

    def refresh_metadata(self, asset_ids: Iterable[str]) -> None:
        """Queue metadata re-extraction: tags come back from the sidecar (new ids if deleted)."""
        with self.lock:
            for aid in asset_ids:
                if aid in self.assets:
                    self._queue(aid, "metadata", partial(self._extract_job, aid))
            self._changed()

    def _extract_job(self, asset_id: str) -> None:
        asset = self.assets.get(asset_id)
        if asset is None:
            return
        wanted = {self.create_tag(value, owner_id=asset.owner_id).id for value in asset.sidecar_tags}
        current = self.asset_tags.setdefault(asset_id, set())
        for tid in current - wanted:
            self.tag_members[tid].discard(asset_id)
        for tid in wanted - current:
            self.tag_members[tid].add(asset_id)
        self.asset_tags[asset_id] = wanted
        asset.updated_at = self.clock.tick()

    # -- jobs -----------------------------------------------------------------------------

    def _queue(self, asset_id: str, kind: str, run: Callable[[], None]) -> None:
        self._jobs.append(_Job(time.monotonic() + self.job_delay_s, asset_id, kind, run))

    def pending_jobs(self) -> dict[str, int]:
        """Waiting jobs per queue name, as `GET /api/queues` reports them."""
        with self.lock:
            counts = {"sidecar": 0, "metadataExtraction": 0}
            for job in self._jobs:
                counts["sidecar" if job.kind == "sidecar" else "metadataExtraction"] += 1
            return counts

    def pump(self) -> None:
        """Run the jobs that are due (async mode); the app calls this at every request."""
        if self.jobs_mode == "async":
            self._drain(until=time.monotonic())

    def settle(self) -> None:
        """Run every pending job now, as if the server's queues went empty."""
        with self.lock:
            self._drain(until=None)
            self._last_tag_write.clear()

    def _drain(self, until: float | None) -> None:
        with self.lock:
            if self._draining:
                return
            self._draining = True
            try:
                while self._jobs:
                    due = [j for j in self._jobs if until is None or j.due <= until]
                    if not due:
                        break
                    self._jobs = [j for j in self._jobs if not (until is None or j.due <= until)]
                    for job in due:
                        job.run()
                    self.revision += 1
            finally:
                self._draining = False

    def _changed(self) -> None:
        self.revision += 1
        if self.jobs_mode == "immediate":
            self._drain(until=None)

    # -- reading --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Plain, comparable data: what the server holds right now.

        `{"assets": {id: {field: value}}, "albums": {id: {"name", "owner_id", "asset_ids"}},
        "tags": {id: {"value", "parent_id", "color"}}, "asset_tags": {(asset_id, tag_id), ...}}`
        (dates stay `datetime`; `asset_tags` holds direct links only).
        """
        with self.lock:
            assets = {
                aid: {f: getattr(a, f) for f in _ASSET_FIELDS if f not in ("sidecar_tags",)}
                for aid, a in self.assets.items()
            }
            albums = {
                alb.id: {"name": alb.name, "owner_id": alb.owner_id, "asset_ids": sorted(alb.members),
                         "updated_at": alb.updated_at}
                for alb in self.albums.values()
            }
            tags = {
                t.id: {"value": t.value, "parent_id": t.parent_id, "color": t.color, "user_id": t.user_id}
                for t in self.tags.values()
            }
            pairs = {(aid, tid) for tid, aids in self.tag_members.items() for aid in aids}
            return {"assets": assets, "albums": albums, "tags": tags, "asset_tags": pairs}


_MIME = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic",
    "gif": "image/gif", "webp": "image/webp", "mp4": "video/mp4", "mov": "video/quicktime",
}


def _checksum(seed: str) -> str:
    return base64.b64encode(hashlib.sha1(seed.encode()).digest()).decode()


def _local_of(instant: datetime, time_zone: str | None) -> datetime:
    """Wall-clock time of `instant` in `time_zone` (an IANA name or `UTC+2`), kept naive-as-UTC."""
    return (instant.astimezone(UTC) + zone_offset(instant, time_zone)).replace(tzinfo=UTC)


def zone_offset(instant: datetime, time_zone: str | None) -> timedelta:
    """Offset of `time_zone` (IANA name or Immich's `UTC+2` label) at `instant`."""
    if not time_zone:
        return timedelta(0)
    if time_zone.startswith("UTC"):
        return offset_of_label(time_zone)
    try:
        return instant.astimezone(ZoneInfo(time_zone)).utcoffset() or timedelta(0)
    except (ZoneInfoNotFoundError, ValueError):
        return timedelta(0)

