"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.helpers import VERSIONS

# No per-example deadline anywhere: it measures the machine, not the code, and a loaded CI machine
# would fail a correct property (seen: 475 ms against the 200 ms default under `-n 4`).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    """Each Immich version the fake emulates: tests using it run once per version."""
    return str(request.param)
