"""State records -> the JSON each emulated Immich version answers with.

The shapes follow the recordings in `tests/recordings/` key for key: which keys exist where,
which are null, and the two date formats Immich mixes (`toISOString()` for top-level entities,
PostgreSQL text for exif dates and rows nested through a join).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import (
    FakeAlbum,
    FakeApiKey,
    FakeAsset,
    FakeTag,
    FakeUser,
    fmt_local,
    fmt_pg,
    fmt_z,
)

Json = dict[str, Any]


def is_v2(version: str) -> bool:
    return version.startswith("2.")


def _fmt(dt: datetime, pg: bool) -> str:
    return fmt_pg(dt) if pg else fmt_z(dt)


def user_brief(user: FakeUser) -> Json:
    """The user object embedded in assets and albums (`UserResponseDto`)."""
    return {
        "id": user.id, "email": user.email, "name": user.name, "profileImagePath": "",
        "avatarColor": user.avatar_color, "profileChangedAt": fmt_pg(user.profile_changed_at),
    }


def user_me(user: FakeUser) -> Json:
    return {
        "id": user.id, "email": user.email, "name": user.name, "profileImagePath": "",
        "avatarColor": user.avatar_color, "profileChangedAt": fmt_z(user.profile_changed_at),
        "storageLabel": user.storage_label, "shouldChangePassword": False, "isAdmin": user.is_admin,
        "createdAt": fmt_z(user.created_at), "deletedAt": None, "updatedAt": fmt_z(user.updated_at),
        "oauthId": "", "quotaSizeInBytes": None, "quotaUsageInBytes": user.quota_usage_in_bytes,
        "status": "active", "license": None,
    }


def api_key(key: FakeApiKey) -> Json:
    return {
        "id": key.id, "name": key.name, "createdAt": fmt_z(key.created_at),
        "updatedAt": fmt_z(key.updated_at), "permissions": list(key.permissions),
    }


def tag(t: FakeTag, *, pg: bool = False) -> Json:
    out: Json = {"id": t.id}
    if t.parent_id:
        out["parentId"] = t.parent_id
    out.update(name=t.name, value=t.value, createdAt=_fmt(t.created_at, pg), updatedAt=_fmt(t.updated_at, pg))
    if t.color:
        out["color"] = t.color
    return out


def exif(a: FakeAsset) -> Json:
    # Without an EXIF date the real extraction reports the file date, so a client cannot tell.
    taken = a.date_time_original or a.file_created_at
    return {
        "make": a.make, "model": a.model, "exifImageWidth": a.width, "exifImageHeight": a.height,
        "fileSizeInByte": a.file_size_in_byte, "orientation": None, "dateTimeOriginal": fmt_pg(taken),
        "modifyDate": fmt_pg(a.file_modified_at), "timeZone": a.time_zone, "lensModel": None,
        "fNumber": None, "focalLength": None, "iso": None, "exposureTime": None,
        "latitude": a.latitude, "longitude": a.longitude, "city": a.city, "state": a.state,
        "country": a.country, "description": a.description, "projectionType": None, "rating": a.rating,
    }


def _duration(a: FakeAsset, v2: bool) -> str | int | None:
    if not v2:
        return a.duration_ms if a.type == "VIDEO" else None
    ms = a.duration_ms or 0
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}00"


def asset(
    lib: FakeLibrary,
    a: FakeAsset,
    version: str,
    *,
    with_exif: bool = False,
    with_tags: bool = False,
    with_owner: bool = False,
    with_stack: bool = False,
    with_unassigned: bool = False,
    pg: bool = False,
) -> Json:
    """`AssetResponseDto`; the flags pick the keys each endpoint adds (see the recordings)."""
    # Item by item rather than dict.update: a search page builds this a thousand times.
    v2 = version.startswith("2.")
    fmt = fmt_pg if pg else fmt_z
    out: Json = {"id": a.id, "createdAt": fmt(a.created_at)}
    if v2:
        out["deviceAssetId"] = a.device_asset_id
    out["ownerId"] = a.owner_id
    if with_owner:
        out["owner"] = user_brief(lib.users[a.owner_id])
    if v2:
        out["deviceId"] = a.device_id
    out["libraryId"] = a.library_id
    out["type"] = a.type
    out["originalPath"] = a.original_path
    out["originalFileName"] = a.original_file_name
    out["originalMimeType"] = a.original_mime_type
    out["thumbhash"] = a.thumbhash
    out["fileCreatedAt"] = fmt(a.file_created_at)
    out["fileModifiedAt"] = fmt(a.file_modified_at)
    out["localDateTime"] = fmt_pg(a.local_date_time) if pg else fmt_local(a.local_date_time)
    out["updatedAt"] = fmt(a.updated_at)
    out["isFavorite"] = a.is_favorite
    out["isArchived"] = a.visibility == "archive"
    out["isTrashed"] = a.deleted_at is not None
    out["visibility"] = a.visibility
    out["duration"] = _duration(a, v2)
    if with_exif:
        out["exifInfo"] = exif(a)
    out["livePhotoVideoId"] = a.live_photo_video_id
    if with_tags:
        tags = sorted((lib.tags[t] for t in lib.asset_tags.get(a.id, ()) if t in lib.tags),
                      key=lambda t: t.value)
        out["tags"] = [tag(t, pg=True) for t in tags]
    out["people"] = []
    if with_unassigned and v2:
        out["unassignedFaces"] = []
    out["checksum"] = a.checksum
    if with_stack:
        out["stack"] = None
    out["isOffline"] = a.is_offline
    out["hasMetadata"] = True
    out["duplicateId"] = a.duplicate_id
    out["resized"] = True
    out["width"] = a.width
    out["height"] = a.height
    out["isEdited"] = False
    return out


def album(
    lib: FakeLibrary,
    alb: FakeAlbum,
    version: str,
    *,
    view: str = "get",
    with_assets: bool = False,
) -> Json:
    """`AlbumResponseDto`. `view`: "get"/"list" (day-rounded dates, lastModifiedAssetTimestamp),
    "write" (answers of create/update: exact dates, no timestamp) or "nested" (inside a shared link).
    """
    v2 = is_v2(version)
    nested = view == "nested"
    owner = lib.users[alb.owner_id]
    members = lib.album_counted(alb)
    shared = bool(alb.shared_with) or any(link.album_id == alb.id for link in lib.shared_links.values())
    out: Json = {
        "albumName": alb.name, "description": alb.description,
        "albumThumbnailAssetId": alb.thumbnail_asset_id,
        "createdAt": _fmt(alb.created_at, nested), "updatedAt": _fmt(alb.updated_at, nested), "id": alb.id,
    }
    if v2:
        out["ownerId"] = alb.owner_id
        out["owner"] = user_brief(owner)
    users: list[Json] = []
    if not nested:
        if not v2:
            users.append({"user": user_brief(owner), "role": "owner"})
        users += [{"user": user_brief(lib.users[uid]), "role": role}
                  for uid, role in alb.shared_with.items() if uid in lib.users]
    out["albumUsers"] = users
    out["shared"] = shared
    out["hasSharedLink"] = any(link.album_id == alb.id for link in lib.shared_links.values())
    if members and not nested:
        if view == "write":
            start = min(a.file_created_at for a in members)
            end = max(a.file_created_at for a in members)
            out["startDate"], out["endDate"] = fmt_pg(start), fmt_pg(end)
        else:
            start = min(a.local_date_time for a in members)
            end = max(a.local_date_time for a in members)
            out["startDate"], out["endDate"] = fmt_z(_day(start)), fmt_z(_day(end))
    if v2:
        out["assets"] = (
            [asset(lib, a, version, with_exif=True, pg=True) for a in members] if with_assets else []
        )
    out["assetCount"] = 0 if nested else len(members)
    out["isActivityEnabled"] = alb.is_activity_enabled
    out["order"] = alb.order
    if view in ("get", "list") and members:
        out["lastModifiedAssetTimestamp"] = fmt_z(max(a.updated_at for a in members))
    return out


def _day(dt: datetime) -> datetime:
    return datetime(dt.year, dt.month, dt.day, tzinfo=UTC)


def bulk_results(results: list[tuple[str, str | None]]) -> list[Json]:
    out: list[Json] = []
    for aid, error in results:
        item: Json = {"id": aid, "success": error is None}
        if error is not None:
            item["error"] = error
        out.append(item)
    return out


def search_page(items: list[Json], next_page: str | None, version: str, next_cursor: str | None,
                cursor_key: bool) -> Json:
    assets: Json = {"total": len(items), "count": len(items), "items": items, "facets": [],
                    "nextPage": next_page}
    if cursor_key:
        assets["nextCursor"] = next_cursor
    return {"albums": {"total": 0, "count": 0, "items": [], "facets": []}, "assets": assets}


def server_version(version: str) -> Json:
    major, minor, patch = (int(x) for x in version.split("."))
    out: Json = {"major": major, "minor": minor, "patch": patch}
    if not is_v2(version):
        out["prerelease"] = None
    return out


def server_about(version: str) -> Json:
    return {
        "version": f"v{version}",
        "versionUrl": f"https://github.com/immich-app/immich/releases/tag/v{version}",
        "licensed": False, "nodejs": "v24.15.0", "exiftool": "13.59", "ffmpeg": "",
        "libvips": "8.17.3", "imagemagick": "",
    }


def server_features(version: str) -> Json:
    out: Json = {
        "smartSearch": False, "facialRecognition": False, "duplicateDetection": False, "map": True,
        "reverseGeocoding": True, "importFaces": False, "sidecar": True, "search": True, "trash": True,
        "oauth": False, "oauthAutoLaunch": False, "ocr": False, "passwordLogin": True,
        "configFile": False, "email": False,
    }
    if not is_v2(version):
        out["realtimeTranscoding"] = False
    return out
