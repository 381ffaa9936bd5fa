"""Mapping Immich payloads to mirror rows: one pure function per entity, no I/O.

Asset items stay raw dicts on this path: a 100k-asset sync maps 100k items, and validating each with
pydantic would cost more than the HTTP reads themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from immich_mirror.api.models import Album, Tag

ASSET_COLUMNS = (
    "id",
    "owner_id",
    "type",
    "original_file_name",
    "original_path",
    "checksum",
    "file_created_at",
    "file_modified_at",
    "local_date_time",
    "date_time_original",
    "time_zone",
    "created_at",
    "updated_at",
    "visibility",
    "is_favorite",
    "is_trashed",
    "deleted_at",
    "duplicate_id",
    "stack_id",
    "live_photo_video_id",
    "library_id",
    "width",
    "height",
    "raw",
    "synced_run",
)


def iso_utc(value: Any) -> str | None:
    """Any ISO-8601 string Immich sends -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (sorts as text)."""
    if not value or not isinstance(value, str):
        return None
    if value.endswith("Z") and len(value) == 24:
        return value  # already the canonical form: the common case, skip parsing
    if len(value) == 25 and value.endswith("+00:00"):
        return value[:19] + ".000Z"  # EXIF dates in UTC, whole seconds: the next most common form
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def asset_row(item: dict[str, Any], raw: bytes, run_id: int) -> tuple[Any, ...]:
    exif = item.get("exifInfo") or {}
    stack = item.get("stack")
    stack_id = item.get("stackId") or (stack.get("id") if isinstance(stack, dict) else None)
    trashed = bool(item.get("isTrashed"))
    # Search items carry no deletedAt; trashing bumps updatedAt, so that is the trash time we know.
    deleted_at = item.get("deletedAt") or (item.get("updatedAt") if trashed else None)
    return (
        item["id"],
        item.get("ownerId"),
        item.get("type") or "IMAGE",
        item.get("originalFileName"),
        item.get("originalPath"),
        item.get("checksum"),
        item.get("fileCreatedAt"),
        item.get("fileModifiedAt"),
        item.get("localDateTime"),
        iso_utc(exif.get("dateTimeOriginal")),
        exif.get("timeZone"),
        item.get("createdAt"),
        item.get("updatedAt"),
        item.get("visibility") or ("archive" if item.get("isArchived") else "timeline"),
        bool(item.get("isFavorite")),
        trashed,
        deleted_at,
        item.get("duplicateId"),
        stack_id,
        item.get("livePhotoVideoId"),
        item.get("libraryId"),
        item.get("width"),
        item.get("height"),
        raw.decode(),
        run_id,
    )


def dump(item: Any) -> bytes:
    # Key order as the server sent it: one server always sends the same order, so equal payloads
    # give equal bytes, and sorting would only cost time on every asset.
    return orjson.dumps(item)


def ts(value: datetime | None) -> str | None:
    """A parsed timestamp back in Immich's text form, so the mirror stores one format throughout."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def album_members_key(album: Album) -> str:
    """What must change on the server before the members are listed again (API-NOTES 0b)."""
    return f"{ts(album.updated_at)}|{album.asset_count}|{ts(album.last_modified_asset_timestamp)}"


def album_row(album: Album, is_owned: bool) -> dict[str, Any]:
    return {
        "id": album.id,
        "name": album.album_name,
        "description": album.description,
        "owner_id": album.owner_id,
        "asset_count": album.asset_count,
        "created_at": ts(album.created_at),
        "updated_at": ts(album.updated_at),
        "start_date": ts(album.start_date),
        "end_date": ts(album.end_date),
        "last_modified_asset_timestamp": ts(album.last_modified_asset_timestamp),
        "shared": bool(album.shared),
        "is_owned": is_owned,
        "raw": dump(album.model_dump(mode="json", by_alias=True)).decode(),
    }


def tag_row(tag: Tag) -> dict[str, Any]:
    return {
        "id": tag.id,
        "value": tag.value,
        "name": tag.name,
        "parent_id": tag.parent_id,
        "color": tag.color,
        "created_at": ts(tag.created_at),
        "updated_at": ts(tag.updated_at),
        "raw": dump(tag.model_dump(mode="json", by_alias=True)).decode(),
    }


def now_iso() -> str:
    return ts(datetime.now(UTC)) or ""
