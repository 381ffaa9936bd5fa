"""Plain records of the fake server's state, and the clock and date formats they share.

Nothing here knows HTTP or JSON: `library.py` owns the rules that change these records, and
`serialize.py` turns them into the JSON each Immich version answers with.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]

VISIBILITIES = ("timeline", "archive", "hidden", "locked")
SUPPORTED_VERSIONS = ("2.7.5", "3.1.0", "3.2.2")


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(rng: Random | None = None) -> str:
    """A version-4 UUID: v3 servers reject any other version in path parameters."""
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# The formatters take a fast path (isoformat, about twice as quick as strftime) for the common
# case, UTC and a four-digit year, and the general one otherwise; both give the same text.


def fmt_z(dt: datetime) -> str:
    """JavaScript's `Date.toISOString()`: what Immich sends for most entity timestamps."""
    if dt.tzinfo is UTC and dt.year >= 1000:
        return dt.isoformat(timespec="milliseconds")[:23] + "Z"
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def fmt_pg(dt: datetime) -> str:
    """PostgreSQL's text form, which Immich passes through for exif dates and nested rows."""
    if dt.tzinfo is UTC and dt.year >= 1000:
        if not dt.microsecond:
            return dt.isoformat()
        return dt.isoformat()[:26].rstrip("0") + "+00:00"
    dt = dt.astimezone(UTC)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        base += "." + f"{dt.microsecond:06d}".rstrip("0")
    return base + "+00:00"


def fmt_local(dt: datetime) -> str:
    """`localDateTime` is a wall-clock time that Immich writes with a `Z` suffix."""
    if dt.year >= 1000:
        return dt.isoformat(timespec="milliseconds")[:23] + "Z"
    return dt.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_dt(text: str) -> datetime:
    """Parse an ISO 8601 date as clients send it; naive values are taken as UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@dataclass
class FakeUser:
    id: str
    email: str
    name: str
    is_admin: bool = False
    avatar_color: str = "gray"
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    profile_changed_at: datetime = field(default_factory=utc_now)
    storage_label: str | None = None
    quota_usage_in_bytes: int = 0


@dataclass
class FakeApiKey:
    """An API key; `permissions` is `["all"]` or a list of Immich permission names."""

    id: str
    name: str
    secret: str
    user_id: str
    permissions: list[str] = field(default_factory=lambda: ["all"])
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)

    def allows(self, permission: str) -> bool:
        return "all" in self.permissions or permission in self.permissions


@dataclass
class FakeAsset:
    id: str
    owner_id: str
    original_file_name: str
    original_path: str
    checksum: str
    file_created_at: datetime
    file_modified_at: datetime
    local_date_time: datetime
    created_at: datetime
    updated_at: datetime
    type: str = "IMAGE"
    original_mime_type: str = "image/jpeg"
    thumbhash: str | None = None
    # EXIF DateTimeOriginal of the file itself; None when the file has none. The server still
    # reports a date in exifInfo then (the file date), as a real extraction does.
    date_time_original: datetime | None = None
    time_zone: str | None = None
    make: str | None = None
    model: str | None = None
    description: str = ""
    rating: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    file_size_in_byte: int = 2048
    visibility: str = "timeline"
    is_favorite: bool = False
    deleted_at: datetime | None = None
    duplicate_id: str | None = None
    stack_id: str | None = None
    live_photo_video_id: str | None = None
    library_id: str | None = None
    is_offline: bool = False
    width: int | None = 4032
    height: int | None = 3024
    duration_ms: int | None = None
    device_asset_id: str = ""
    device_id: str = "fake"
    # Tag values as last written to the XMP sidecar; metadata refresh reads tags back from here.
    sidecar_tags: set[str] = field(default_factory=set)

    @property
    def is_trashed(self) -> bool:
        return self.deleted_at is not None


@dataclass
class FakeAlbum:
    id: str
    owner_id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    # Member id -> time it was added; dicts keep insertion order, which the album view uses.
    members: dict[str, datetime] = field(default_factory=dict)
    shared_with: dict[str, str] = field(default_factory=dict)  # user id -> role (editor|viewer)
    thumbnail_asset_id: str | None = None
    is_activity_enabled: bool = True
    order: str = "desc"


@dataclass
class FakeTag:
    id: str
    user_id: str
    value: str
    parent_id: str | None
    created_at: datetime
    updated_at: datetime
    color: str | None = None

    @property
    def name(self) -> str:
        return self.value.rsplit("/", 1)[-1]


@dataclass
class FakePerson:
    """A recognised face cluster; the fake has no machine learning, so tests name who is where."""

    id: str
    owner_id: str
    name: str
    asset_ids: set[str] = field(default_factory=set)
    is_hidden: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class FakeSharedLink:
    id: str
    user_id: str
    key: str
    type: str  # ALBUM | INDIVIDUAL
    created_at: datetime
    album_id: str | None = None
    asset_ids: list[str] = field(default_factory=list)
    description: str | None = None
    slug: str | None = None


class TickingClock:
    """Wraps a clock so that change times never go backwards, at Immich's millisecond precision.

    Like Postgres' ``now()``, changes close together may share a millisecond (a bulk write stamps all its
    rows alike); a clock forced strictly forward by 1 ms per change would run ahead of real time by a
    minute and a half after a 100k-asset bulk write, which no real server does.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last: datetime | None = None

    def peek(self) -> datetime:
        return self._clock()

    def tick(self) -> datetime:
        now = self._clock().astimezone(UTC)
        now = now.replace(microsecond=(now.microsecond // 1000) * 1000)
        if self._last is not None and now < self._last:
            now = self._last
        self._last = now
        return now


def offset_label(offset: timedelta) -> str:
    """Immich stores a fixed offset as `UTC+2` / `UTC-5:30` / `UTC+0`."""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def offset_of_label(label: str | None) -> timedelta:
    if not label or not label.startswith("UTC"):
        return timedelta(0)
    body = label[3:] or "+0"
    sign = -1 if body.startswith("-") else 1
    hours, _, mins = body.lstrip("+-").partition(":")
    return sign * timedelta(hours=int(hours or 0), minutes=int(mins or 0))


MIME_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "heic": "image/heic",
    "gif": "image/gif", "webp": "image/webp", "mp4": "video/mp4", "mov": "video/quicktime",
}


def checksum_of(seed: str) -> str:
    return base64.b64encode(hashlib.sha1(seed.encode()).digest()).decode()


def local_of(instant: datetime, time_zone: str | None) -> datetime:
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
