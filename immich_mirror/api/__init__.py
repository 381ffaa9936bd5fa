"""The Immich API client layer: everything that speaks HTTP to Immich lives here.

``client`` (ImmichClient, open_client), ``dialect`` (per-version differences), ``models`` (pydantic
payloads), ``errors`` (responses and transport failures -> the typed errors of
:mod:`immich_mirror.errors`), ``retry`` (the one retry policy), ``record`` (cassette builder).
"""

from __future__ import annotations

from .client import CHUNK_SIZE, ImmichClient, open_client
from .dialect import ALL_VISIBILITIES, Dialect, dialect_for
from .models import (
    Album,
    ApiKeyInfo,
    AssetItem,
    BulkIdResult,
    DuplicateGroup,
    PeoplePage,
    ServerVersion,
    SharedLink,
    Tag,
    User,
)
from .retry import RetryPolicy

__all__ = [
    "ALL_VISIBILITIES",
    "CHUNK_SIZE",
    "Album",
    "ApiKeyInfo",
    "AssetItem",
    "BulkIdResult",
    "Dialect",
    "DuplicateGroup",
    "ImmichClient",
    "PeoplePage",
    "RetryPolicy",
    "ServerVersion",
    "SharedLink",
    "Tag",
    "User",
    "dialect_for",
    "open_client",
]
