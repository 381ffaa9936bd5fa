"""Whether the rule views in a mirror are the ones this config and this code would install.

Installing the rules rewrites the rule tables, refreshes what the views need from Python and recreates
every view: a write, slow on a big mirror, impossible on a read-only file, and racing a running
classify. A reader (``autotag sql``, ``report``) needs it only when the views are stale, so each
install records a fingerprint of what it installed (the config the views depend on, the views' SQL and
the code that writes their tables) in ``rules_installed``, and a reader compares before installing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig

TABLE = "rules_installed"
COLUMNS = "key TEXT PRIMARY KEY, value TEXT NOT NULL"
KEY = "fingerprint"
# Not part of what the views say: the server connection (and its key, which must never reach the DB
# even hashed), where the mirror lives, how the pusher paces itself, and the links (resolved into the
# scope tables by each classify, not into the views).
_NOT_IN_VIEWS = {"immich", "db", "push", "exclude", "only"}


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that writes the rule tables and views (autotag and the mirror's schema): a
    new version of the tool reinstalls, even one that changed only how a table is computed."""
    import autotag
    import immich_mirror.db

    digest = hashlib.sha256()
    for package in (autotag, immich_mirror.db):
        root = Path(str(package.__file__)).parent
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(cfg: AutotagConfig, views: Mapping[str, str]) -> str:
    """What an install of ``cfg`` writes, as one digest: its settings, its views' SQL, the code."""
    settings = cfg.model_dump(mode="json", exclude=_NOT_IN_VIEWS)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for name, sql in views.items():
        digest.update(f"\0{name}\0{sql}".encode())
    digest.update(code_digest().encode())
    return digest.hexdigest()[:32]


def record(conn: Connection, value: str) -> None:
    """Note what was installed (in the installing transaction)."""
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {TABLE} ({COLUMNS})")
    conn.execute(text(f"INSERT OR REPLACE INTO {TABLE} (key, value) VALUES (:k, :v)"), {"k": KEY, "v": value})


def installed(conn: Connection) -> str | None:
    """The fingerprint of the last install, None when nothing was installed (or by an older version)."""
    if conn.exec_driver_sql(f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'").first() is None:
        return None
    value = conn.execute(text(f"SELECT value FROM {TABLE} WHERE key = :k"), {"k": KEY}).scalar()
    return None if value is None else str(value)
