"""Fixtures shared by the sync tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from immich_mirror.db.migrate import open_db


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A new, migrated mirror database, disposed of after the test."""
    eng = open_db(tmp_path / "mirror.db")
    yield eng
    eng.dispose()
