"""Thumbnails for the page: fetched from Immich by the server (the key never reaches the browser) and
kept on disk, so a page shown twice costs Immich nothing the second time.

The cache is a directory of ``<asset id>.<ext>`` files next to the mirror; an asset's thumbnail changes
rarely, and deleting the directory is always safe.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

Fetch = Callable[[str], tuple[bytes, str]]  # asset id -> (image bytes, content type)

TYPES = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "image/avif": "avif", "image/gif": "gif"}
EXTENSIONS = {ext: ctype for ctype, ext in TYPES.items()}
_ASSET_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def cache_dir_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + "-thumbnails")


class ThumbnailCache:
    def __init__(self, directory: Path, fetch: Fetch) -> None:
        self.directory = directory
        self.fetch = fetch
        self.fetched = 0  # from Immich (for tests and the curious)
        self._lock = threading.Lock()

    def get(self, asset_id: str) -> tuple[bytes, str]:
        """The thumbnail of ``asset_id``; ``ValueError`` for something that is not an asset id."""
        if not _ASSET_ID.match(asset_id):
            raise ValueError("not an asset id")
        for known, cached_type in EXTENSIONS.items():
            path = self.directory / f"{asset_id}.{known}"
            if path.exists():
                return path.read_bytes(), cached_type
        body, raw_type = self.fetch(asset_id)
        ctype = raw_type.split(";", 1)[0].strip().lower()
        with self._lock:
            self.fetched += 1
        ext = TYPES.get(ctype)
        if ext is not None:  # an unknown type is served but not kept
            self._store(self.directory / f"{asset_id}.{ext}", body)
        return body, ctype

    def _store(self, path: Path, body: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".thumb-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)  # atomic: two requests for one thumbnail never see half a file
        except OSError:
            Path(tmp).unlink(missing_ok=True)
