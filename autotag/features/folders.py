"""Albums from folders: a path regex and an album name template (``{group}`` from the regex).

``folder_albums.rules`` map paths to album names, e.g. ``/mnt/photos/2019/2019-06-01 Beach/x.jpg`` to
the album ``2019-06-01 Beach``. Only assets of external libraries are looked at unless a rule says
``external_only: false`` (uploads live under Immich's own ``upload/<user>/<xx>/<yy>/`` paths). Missing
albums are created by the pusher (``album_add`` to ``name:<album name>``, recorded in
``created_albums``); assets are only ever added. Two owned albums with the wanted name are reported in
``feature_problems`` and skipped; the rest of the run goes on.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig

FEATURE = "folder_albums"

# The names were read out of the paths in Python when autotag last wrote the mirror (autotag.derived):
# one row per asset and rule that matched.
FOLDER_ALBUM_WANTS = """
SELECT 'folder_albums' AS feature, x.key AS asset_id, x.value AS album_name,
       'folder album "' || x.value || '"' AS reason
FROM derived_folder_albums AS x
JOIN folder_album_rules AS r ON r.position = CAST(x.param AS INTEGER)
JOIN assets AS a ON a.id = x.key
WHERE (a.library_id IS NOT NULL OR r.external_only = 0) AND trim(x.value) <> ''
"""


def expand_template(album: str) -> str:
    """``{folder}`` -> ``\\g<folder>`` for ``Match.expand``, every other character literal."""
    parts = re.split(r"(\{\w+\})", album)
    return "".join(f"\\g<{p[1:-1]}>" if re.fullmatch(r"\{\w+\}", p) else p.replace("\\", "\\\\") for p in parts)


def write(conn: Connection, cfg: AutotagConfig) -> None:
    conn.exec_driver_sql("DELETE FROM folder_album_rules")
    rules = cfg.folder_albums.rules
    if rules:
        conn.execute(
            text(
                "INSERT INTO folder_album_rules (position, path_regex, template, external_only) "
                "VALUES (:p, :r, :t, :e)"
            ),
            [
                {"p": i, "r": r.path_regex, "t": expand_template(r.album), "e": int(r.external_only)}
                for i, r in enumerate(rules)
            ],
        )


def album_wants(cfg: AutotagConfig) -> list[str]:
    return [FOLDER_ALBUM_WANTS]


def views(cfg: AutotagConfig) -> dict[str, str]:
    return {}
