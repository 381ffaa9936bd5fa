"""Dates read from file names and folders: pure functions, no I/O (docs/rules.md, "Date repair").

``parse_path(path, name)`` gives the file name's date, else the nearest dated folder's; the policy that
decides whether a date replaces an asset's current one lives in ``autotag.features.dates``.
"""

from __future__ import annotations

from autotag.dateparse.folders import parse_folders
from autotag.dateparse.model import FoundDate
from autotag.dateparse.names import parse_name

# Bumped whenever the parser reads a name differently: the mirror's stored candidates are then re-read.
PARSER_VERSION = "5"

# The families, in the order a dry run lists them (docs/rules.md has an example of each).
FAMILIES = (
    "pattern", "camera", "pixel", "burst", "motion", "screenshot", "screen_recording", "whatsapp", "telegram",
    "signal", "windows_phone", "windows_camera", "lightroom", "drone", "app_export", "unix", "nextcloud",
    "iso", "date_only", "folder",
)


def parse_path(path: str | None, name: str | None = None) -> FoundDate | None:
    """The date of a file: its name's (``name``, else the last part of ``path``), else its folders'."""
    if name is None and path:
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
    found = parse_name(name) if name else None
    if found is None and path:
        found = parse_folders(path)
    return found


__all__ = ["FAMILIES", "PARSER_VERSION", "FoundDate", "parse_folders", "parse_name", "parse_path"]
