"""Fixtures shared by the CLI tests of autotag."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No server, key, config or mirror from the developer's environment; XDG dirs under tmp_path."""
    for name in ("IMMICH_URL", "IMMICH_INSTANCE_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path
