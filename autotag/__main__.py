"""``python -m autotag``: the same as the ``autotag`` command."""

from __future__ import annotations

from autotag.cli import main

raise SystemExit(main())
