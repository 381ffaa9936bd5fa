"""Pydantic models of the Immich payloads the tool reads.

Attributes are snake_case; the JSON names (camelCase) are their aliases, and models accept either.
``extra="allow"`` keeps fields this code does not know, so a newer server never breaks parsing.

Asset items from ``POST /search/metadata`` are deliberately **not** modelled: a full sync reads
100k+ of them, and validating each would cost more than the HTTP calls. They stay plain dicts;
:class:`AssetItem` documents the keys the mirror relies on (use it with ``typing.cast``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class ServerVersion(_Model):
    """``GET /api/server/version``. ``prerelease`` exists from 3.0 (a number or null)."""

    model_config = ConfigDict(frozen=True)

    major: int
    minor: int
    patch: int
    prerelease: int | str | None = None

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def at_least(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        return self.triple >= (major, minor, patch)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ServerVersion):
            return NotImplemented
        return self.triple < other.triple

    def __le__(self, other: object) -> bool:
        if not isinstance(other, ServerVersion):
            return NotImplemented
        return self.triple <= other.triple

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, ServerVersion):
            return NotImplemented
        return self.triple > other.triple

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, ServerVersion):
            return NotImplemented
        return self.triple >= other.triple

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{self.prerelease}" if self.prerelease not in (None, "", 0) else base


class UserRef(_Model):
    """A user as embedded in albums (``owner``, ``albumUsers[].user``)."""

    id: str
    email: str = ""
    name: str = ""


class User(UserRef):
    """``GET /api/users/me``."""

    is_admin: bool = False


class ApiKeyInfo(_Model):
    """``GET /api/api-keys/me``: the key's own scopes (no secret in the answer)."""

    id: str = ""
    name: str = ""
    permissions: list[str] = Field(default_factory=list)

    def allows(self, permission: str) -> bool:
        return "all" in self.permissions or permission in self.permissions

    def missing(self, required: list[str] | tuple[str, ...]) -> list[str]:
        return [p for p in required if not self.allows(p)]


class AlbumUser(_Model):
    user: UserRef
    role: str = ""


class Album(_Model):
    """An album; ``owner_id`` is filled on both versions.

    v2 sends ``ownerId`` and ``owner`` (``albumUsers`` then lists only the *other* users); v3 dropped
    both, and the owner is the ``albumUsers`` entry with role ``owner``. v2 ``GET /albums/{id}`` also
    carries ``assets[]``; the client asks for ``withoutAssets`` there so it is normally absent.
    """

    id: str
    album_name: str
    description: str = ""
    asset_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    last_modified_asset_timestamp: datetime | None = None
    shared: bool = False
    has_shared_link: bool = False
    album_thumbnail_asset_id: str | None = None
    owner_id: str | None = None
    owner: UserRef | None = None
    album_users: list[AlbumUser] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_owner_id(self) -> Album:
        if self.owner_id is None:
            self.owner_id = album_owner_id(self)
        return self

    def user_ids(self) -> list[str]:
        """Everybody with access: the owner first, then the users it is shared with."""
        ids = [self.owner_id] if self.owner_id else []
        return ids + [u.user.id for u in self.album_users if u.user.id not in ids]


def album_owner_id(album: Album) -> str | None:
    """The owner's user id from whichever field this server version sends."""
    if album.owner_id:
        return album.owner_id
    if album.owner is not None:
        return album.owner.id
    for member in album.album_users:
        if member.role == "owner":
            return member.user.id
    return None


class Tag(_Model):
    """A tag. ``value`` (the full path ``a/b/c``) is unique per user; ``name`` (last segment) is not."""

    id: str
    name: str
    value: str
    parent_id: str | None = None
    color: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Person(_Model):
    """A person of ``GET /api/people`` (a face cluster). ``name`` is "" until someone names it."""

    id: str
    name: str = ""
    is_hidden: bool = False
    is_favorite: bool = False
    birth_date: str | None = None
    updated_at: datetime | None = None


class BulkIdResult(_Model):
    """One id's outcome of a bulk add/remove (``error``: duplicate, no_permission, not_found, ...)."""

    id: str
    success: bool
    error: str | None = None
    error_message: str | None = None


class SharedLink(_Model):
    """``GET /api/shared-links`` item. ``key`` is a secret: never log it."""

    id: str
    key: str = Field(default="", repr=False)
    slug: str | None = None
    type: Literal["ALBUM", "INDIVIDUAL"] | str = "ALBUM"
    album: Album | None = None
    assets: list[dict[str, Any]] = Field(default_factory=list)
    description: str | None = None
    expires_at: datetime | None = None
    user_id: str | None = None

    @property
    def asset_ids(self) -> list[str]:
        return [str(a["id"]) for a in self.assets if "id" in a]


class PeoplePage(_Model):
    """``GET /api/people``. People stay raw dicts: the tool only needs ids and names."""

    people: list[dict[str, Any]] = Field(default_factory=list)
    has_next_page: bool = False
    total: int = 0
    hidden: int = 0


class DuplicateGroup(_Model):
    """``GET /api/duplicates`` item. Its assets are full asset payloads, kept raw."""

    duplicate_id: str
    assets: list[dict[str, Any]] = Field(default_factory=list)
    suggested_keep_asset_ids: list[str] = Field(default_factory=list)

    @property
    def asset_ids(self) -> list[str]:
        return [str(a["id"]) for a in self.assets if "id" in a]


class ExifInfo(TypedDict, total=False):
    """Keys of ``exifInfo`` in a search item (with ``withExif``). All may be null."""

    dateTimeOriginal: str | None
    timeZone: str | None
    modifyDate: str | None
    make: str | None
    model: str | None
    lensModel: str | None
    description: str
    rating: int | None
    city: str | None
    state: str | None
    country: str | None
    latitude: float | None
    longitude: float | None
    fileSizeInByte: int | None
    exifImageWidth: int | None
    exifImageHeight: int | None


class AssetItem(TypedDict, total=False):
    """Keys of one ``POST /search/metadata`` item the mirror reads (documentation for raw dicts).

    Never present in search items: ``tags``, album membership, ``owner``. v2 adds ``deviceAssetId``
    and ``deviceId``; ``duration`` is "H:MM:SS.mmm" on v2 and int milliseconds (or null) on v3.
    Trashed assets (only with ``withDeleted``) have ``isTrashed: true``.
    """

    id: str
    ownerId: str
    libraryId: str | None
    type: str
    originalFileName: str
    originalPath: str
    originalMimeType: str
    checksum: str
    thumbhash: str | None
    fileCreatedAt: str
    fileModifiedAt: str
    localDateTime: str
    createdAt: str
    updatedAt: str
    isFavorite: bool
    isArchived: bool
    isTrashed: bool
    isOffline: bool
    visibility: str
    duration: str | int | None
    width: int | None
    height: int | None
    livePhotoVideoId: str | None
    duplicateId: str | None
    stack: dict[str, Any] | None
    exifInfo: ExifInfo
