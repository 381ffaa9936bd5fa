"""``autotag doctor``: every precondition of a working run, checked in order, each failure with its fix."""

from __future__ import annotations

from dataclasses import dataclass

from autotag.session import Session
from immich_mirror.db.migrate import open_db
from immich_mirror.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ImmichMirrorError,
    UnsupportedServer,
)

NEWEST_KNOWN = (3, 2)
OLDEST_SUPPORTED = (2, 0)

# permission -> what needs it (API-NOTES 1h, and the OpenAPI spec's x-immich-permission)
REQUIRED = {
    "user.read": "sync (who owns the library)",
    "asset.read": "sync (read assets)",
    "asset.statistics": "sync (cheap detection of deleted assets)",
    "album.read": "sync (read albums)",
    "tag.read": "sync (read tags)",
    "tag.create": "push (create marker tags)",
    "tag.asset": "push (tag and untag assets)",
    "asset.update": "push (tag assets, repair dates)",
    "albumAsset.create": "push (add assets to albums)",
    "albumAsset.delete": "undo (remove assets added to albums)",
    "album.create": "push (albums from folders)",
}
OPTIONAL = {
    "sharedLink.read": "share links in exclude/only",
    "person.read": "people links in exclude/only",
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False


def run_checks(session: Session) -> list[Check]:
    checks: list[Check] = []
    cfg = session.cfg
    checks.append(Check("config", True, "loaded"))
    if not cfg.immich.url:
        checks.append(Check("server URL", False, "not set", "set immich.url in the config or IMMICH_URL"))
        return checks
    checks.append(Check("server URL", True, cfg.immich.url))
    if cfg.immich.api_key is None:
        checks.append(Check("API key", False, "not set", "set immich.api_key in the config or IMMICH_API_KEY"))
        return checks
    client = session.client
    try:
        version = client.server_version()
    except UnsupportedServer as exc:
        checks.append(Check("server version", False, exc.message, "upgrade Immich to 2.0 or newer"))
        return checks
    except ConnectionFailed as exc:
        checks.append(Check("reachable", False, exc.message, "check the URL, the port and that Immich is running"))
        return checks
    except ImmichMirrorError as exc:
        checks.append(Check("reachable", False, exc.message, "check that the URL points at Immich"))
        return checks
    checks.append(Check("reachable", True, client.base_url))
    vt = (version.major, version.minor)
    if vt < OLDEST_SUPPORTED:
        checks.append(
            Check(
                "server version",
                False,
                f"Immich {version} is too old: autotag needs 2.0 or newer",
                "upgrade Immich to 2.0+",
            )
        )
        return checks
    if vt > NEWEST_KNOWN:
        checks.append(
            Check(
                "server version",
                True,
                f"Immich {version}: newer than the newest tested ({NEWEST_KNOWN[0]}.{NEWEST_KNOWN[1]}); it should work",
                warning=True,
            )
        )
    else:
        checks.append(Check("server version", True, f"Immich {version} (supported)"))
    try:
        me = client.me()
        checks.append(Check("API key", True, f"accepted (user {me.email or me.id})"))
    except AuthenticationFailed as exc:
        checks.append(
            Check(
                "API key",
                False,
                exc.message,
                "create a new key in Immich > Account Settings > API Keys and set IMMICH_API_KEY",
            )
        )
        return checks
    except ImmichMirrorError as exc:
        checks.append(Check("API key", False, exc.message, "grant the key the user.read permission"))
    try:
        info = client.api_key_info()
        perms = set(info.permissions)
    except ImmichMirrorError as exc:
        checks.append(Check("permissions", False, exc.message, "check the API key"))
        perms = set()
    if perms:
        if "all" in perms:
            checks.append(Check("permissions", True, "all"))
        else:
            missing = [p for p in REQUIRED if p not in perms]
            if missing:
                checks.append(
                    Check(
                        "permissions",
                        False,
                        "missing " + ", ".join(f"{p} ({REQUIRED[p]})" for p in missing),
                        "edit the key in Immich > Account Settings > API Keys and add: " + ", ".join(missing),
                    )
                )
            else:
                checks.append(Check("permissions", True, "all required"))
            optional = [p for p in OPTIONAL if p not in perms]
            if optional:
                checks.append(
                    Check(
                        "optional permissions",
                        True,
                        "missing " + ", ".join(f"{p} ({OPTIONAL[p]})" for p in optional),
                        warning=True,
                    )
                )
    try:
        open_db(session.db_path).dispose()
        checks.append(Check("database", True, f"{session.db_path} (writable)"))
    except ImmichMirrorError as exc:
        checks.append(Check("database", False, exc.message, "choose a writable place with --db or AUTOTAG_DB"))
    return checks
