from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.bad_inputs import Servers, running_servers


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The fake server and its odd siblings (TLS, v1, HTML, wrong JSON), shared by a module's tests."""
    with running_servers(tmp_path_factory.mktemp("servers")) as srv:
        yield srv
