"""The ``autotag`` command line: thin commands over ``autotag.session`` and one error handler.

``base`` holds the typer app and what commands share; each command family is a module of its own,
imported here in the order ``autotag --help`` lists them; ``entry.main`` is the console script.
"""

from __future__ import annotations

# isort: off
from autotag.cli import setup, mirror, apply, history, service, links  # noqa: F401  (registers the commands)

# isort: on
from autotag.cli.base import app, state
from autotag.cli.entry import main

__all__ = ["app", "main", "state"]
