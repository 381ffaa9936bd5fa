"""`FakeLibrary`: the fake server's whole state and the rules every change follows.

Both the HTTP handlers and tests of the sync code change the "server" through the public methods
here, so the side effects the real Immich has (API-NOTES section 0b) happen the same way for
both: which timestamps move, and which changes wait for the background jobs (sidecar write, then
metadata re-extraction) before they show. The job queue and its modes live in `store.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from immich_mirror.fake.state import (
    MIME_TYPES,
    FakeAlbum,
    FakeApiKey,
    FakeAsset,
    FakePerson,
    FakeSharedLink,
    FakeUser,
    checksum_of,
    local_of,
    new_id,
    offset_label,
    zone_offset,
)
from immich_mirror.fake.store import JOB_MODES
from immich_mirror.fake.tagging import TagStore

_ASSET_FIELDS = {f.name for f in fields(FakeAsset)}
__all__ = ["JOB_MODES", "FakeLibrary"]


class FakeLibrary(TagStore):
    """State of one fake Immich server: users, keys, assets, albums, tags and pending jobs."""

    def bootstrap(self, api_key: str) -> None:
        owner = self.add_user("admin@example.com", "Fake Admin", is_admin=True, storage_label="admin")
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
        self, album_id: str | None = None, asset_ids: Iterable[str] = (), *, slug: str | None = None
    ) -> FakeSharedLink:
        with self.lock:
            link = FakeSharedLink(
                id=new_id(self.rng), user_id=self.owner_id, key=new_id(self.rng).replace("-", ""),
                type="ALBUM" if album_id else "INDIVIDUAL", created_at=self.clock.tick(),
                album_id=album_id, asset_ids=list(asset_ids), slug=slug,
            )
            self.shared_links[link.id] = link
            self._changed()
            return link

    def add_person(self, name: str, asset_ids: Iterable[str] = (), *, is_hidden: bool = False,
                   owner_id: str | None = None, id: str | None = None) -> FakePerson:
        """A person recognised in ``asset_ids`` (what face recognition would have found)."""
        with self.lock:
            now = self.clock.tick()
            person = FakePerson(id=id or new_id(self.rng), owner_id=owner_id or self.owner_id, name=name,
                                asset_ids=set(asset_ids), is_hidden=is_hidden, created_at=now, updated_at=now)
            self.people[person.id] = person
            self._changed()
            return person

    def update_person(self, person_id: str, **values: Any) -> FakePerson:
        """Rename or hide a person: the person's ``updatedAt`` moves (Immich's ``person`` row trigger)."""
        with self.lock:
            person = self.people[person_id]
            for key, value in values.items():
                setattr(person, key, value)
            person.updated_at = self.clock.tick()
            self._changed()
            return person

    def assign_faces(self, person_id: str, asset_ids: Iterable[str]) -> None:
        """Recognise (or reassign) faces of ``person_id`` in ``asset_ids``. As in Immich, faces live in
        their own table: neither the person's ``updatedAt`` nor the assets' move."""
        with self.lock:
            ids = set(asset_ids)
            for other in self.people.values():
                other.asset_ids -= ids
            self.people[person_id].asset_ids |= ids
            self._changed()

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
            local = values.pop("local_date_time", None) or local_of(
                file_created, values.get("time_zone") if exif else None
            )
            ext = original_file_name.rsplit(".", 1)[-1].lower()
            values.setdefault("type", "VIDEO" if ext in ("mp4", "mov", "3gp", "mkv") else "IMAGE")
            values.setdefault("original_mime_type", MIME_TYPES.get(ext, "application/octet-stream"))
            values.setdefault(
                "original_path", f"/data/upload/{owner_id or self.owner_id}/{aid[:2]}/{aid[2:4]}/{aid}.{ext}"
            )
            values.setdefault("checksum", checksum_of(aid))
            values.setdefault("thumbhash", checksum_of("thumb" + aid)[:24])
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
        """Edit the EXIF date as `PUT /assets` does: EXIF at once, timeline dates after the jobs.

        The zone is kept as sent at once (the server writes the request's `timeZone` into the EXIF
        row), and after the jobs as the fixed-offset label the metadata extraction reads back from the
        sidecar: `Europe/Berlin` becomes `UTC+2` in summer and `UTC+1` in winter (recorded on v2.7.5 and
        v3.1.0: assets_bulk_put_dateTimeRelative_effect); an IANA name is never kept."""
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
                    asset.time_zone = time_zone
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
        if asset.time_zone and not asset.time_zone.startswith("UTC"):
            asset.time_zone = offset_label(zone_offset(asset.date_time_original, asset.time_zone))
        asset.file_created_at = asset.date_time_original
        asset.local_date_time = local_of(asset.date_time_original, asset.time_zone)
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
            self._changed()
            return album

    def album_counted(self, album: FakeAlbum) -> list[FakeAsset]:
        """The members Immich counts for ``assetCount``, ``startDate``/``endDate`` and
        ``lastModifiedAssetTimestamp`` (the newest ``updatedAt`` among them): not trashed, timeline or
        archive (server ``album.repository.ts`` getMetadataForIds). So a tag written on a member moves
        the timestamp once its jobs bumped the asset, and an addition of an older asset does not
        (recording ``albums_list_triple_steps.json``)."""
        members = (self.assets.get(a) for a in album.members)
        return [a for a in members if a is not None and a.deleted_at is None
                and a.visibility in ("timeline", "archive")]

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
                album.updated_at = now  # additions move the album's updatedAt at once (recorded)
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
            # Removals move only assetCount (and lastModifiedAssetTimestamp when the newest member left):
            # both are computed from the members (``album_counted``), never the album's updatedAt.
            self._changed()
            return results

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
