"""``python -m autotag``: the ``autotag`` command, for environments without the console script."""

from __future__ import annotations

import sys

from autotag.cli import main

if __name__ == "__main__":
    sys.exit(main())
