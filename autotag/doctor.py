"""``autotag doctor``: every precondition of a working run, checked in order, each failure with its fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autotag.session import Session
from immich_mirror.api.dialect import MIN_VERSION, NEWEST_KNOWN
from immich_mirror.db.migrate import open_db
from immich_mirror.errors import (
    AuthenticationFailed,
    ConfigError,
    ConnectionFailed,
    ImmichMirrorError,
    NotImmich,
    PermissionDenied,
    UnexpectedResponse,
)
from immich_mirror.urls import normalize_server_url

OLDEST_SUPPORTED = MIN_VERSION[:2]
FIX_URL = "check the server URL: the address you open Immich at in a browser, e.g. http://host:2283"
FIX_PROXY = "point the server URL straight at Immich, not at a login page or a proxy's other site"
# The fix for a server that cannot be reached, by the kind of failure: the first that matches.
REACHABLE_FIXES: tuple[tuple[type[ImmichMirrorError], str], ...] = (
    (NotImmich, FIX_URL),
    (UnexpectedResponse, FIX_PROXY),
    (ConnectionFailed, "check the URL, the port and that Immich is running"),
    (ImmichMirrorError, FIX_URL),
)

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
    "person.read": "people in rules (people:, min_faces:) and people links in exclude/only",
    "album.delete": "undo of albums from folders (deletes only albums autotag created)",
    "tag.delete": "undo of the tags autotag created (deletes only those, once empty)",
    "asset.view": "thumbnails in `autotag review`",
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False


def run_checks(session: Session, config_file: Path | None = None) -> list[Check]:
    checks: list[Check] = []
    cfg = session.cfg
    if config_file is None or config_file.exists():
        checks.append(Check("config", True, str(config_file or "given")))
    else:  # fine when the environment says where and how: but say so, a typo'd path looks the same
        checks.append(Check("config", True, f"no file at {config_file}: defaults and the environment "
                            "(`autotag init` writes one)", warning=True))
    if not cfg.immich.url:
        checks.append(Check("server URL", False, "not set", "set immich.url in the config or IMMICH_URL"))
        return checks
    try:
        base = normalize_server_url(cfg.immich.url)
    except ConfigError as exc:
        checks.append(Check("server URL", False, exc.message, FIX_URL))
        return checks
    checks.append(Check("server URL", True, base))
    if cfg.immich.api_key is None:
        checks.append(Check("API key", False, "not set", "set immich.api_key in the config or IMMICH_API_KEY"))
        return checks
    client = session.client
    try:
        version = client.server_version()
    except ImmichMirrorError as exc:
        fix = next(fix for kind, fix in REACHABLE_FIXES if isinstance(exc, kind))
        checks.append(Check("reachable", False, exc.message, fix))
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
    except PermissionDenied as exc:
        checks.append(Check("API key", False, exc.message, "grant the key the user.read permission"))
    except UnexpectedResponse as exc:
        checks.append(Check("API key", False, exc.message, FIX_PROXY))
        return checks
    except ImmichMirrorError as exc:
        checks.append(Check("API key", False, exc.message, "see the message above"))
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
            missing, detail = _missing(perms, REQUIRED)
            if missing:
                fix = "edit the key in Immich > Account Settings > API Keys and add: " + ", ".join(missing)
                checks.append(Check("permissions", False, detail, fix))
            else:
                checks.append(Check("permissions", True, "all required"))
            optional, detail = _missing(perms, OPTIONAL)
            if optional:
                checks.append(Check("optional permissions", True, detail, warning=True))
    try:
        open_db(session.db_path).dispose()
        checks.append(Check("database", True, f"{session.db_path} (writable)"))
    except ImmichMirrorError as exc:
        checks.append(Check("database", False, exc.message, "choose a writable place with --db or AUTOTAG_DB"))
    return checks


def _missing(perms: set[str], wanted: dict[str, str]) -> tuple[list[str], str]:
    """The wanted permissions the key lacks, and ``missing p (what needs it), ...`` naming them."""
    missing = [p for p in wanted if p not in perms]
    return missing, "missing " + ", ".join(f"{p} ({wanted[p]})" for p in missing)
