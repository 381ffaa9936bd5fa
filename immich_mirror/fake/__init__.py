"""A stateful fake Immich server (2.7.5, 3.1.0, 3.2.2) for tests, benchmarks and the demo.

    FakeLibrary     the server's state and the rules its changes follow (library.py)
    create_app      the ASGI app answering like Immich over a FakeLibrary (app.py)

See docs/fake-server.md.
"""

from __future__ import annotations

from immich_mirror.fake.app import create_app
from immich_mirror.fake.library import FakeLibrary

__all__ = ["FakeLibrary", "create_app"]
