"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from tests.helpers import VERSIONS


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    """Each Immich version the fake emulates: tests using it run once per version."""
    return str(request.param)
