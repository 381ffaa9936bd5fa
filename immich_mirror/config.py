"""Connection settings and the config file: where they live and how layers override each other.

Precedence, lowest first: the YAML file < environment variables < command-line flags. The API key is
held as a ``SecretStr`` from the moment it is read, so a repr, a log line or a validation error can
never show it.

This module knows the ``immich:`` and ``db:`` sections only; ``autotag.config`` owns the rest of the
file (rules, markers, ...) and validates the whole document in one go.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url

APP_NAME = "immich-mirror"

# Environment names. IMMICH_INSTANCE_URL is what the official Immich CLI reads, so users who
# already set it for that tool need nothing new.
ENV_CONFIG = "AUTOTAG_CONFIG"
ENV_DB = "AUTOTAG_DB"
ENV_URL = ("IMMICH_URL", "IMMICH_INSTANCE_URL")
ENV_API_KEY = "IMMICH_API_KEY"


def _app_dir(xdg_name: str, fallback: str, platform_dir: str) -> Path:
    """$XDG_<...>_HOME/immich-mirror, else ~/.config or ~/.local/share: on Linux and macOS alike, as
    the docs promise (platformdirs would pick ~/Library on macOS); Windows keeps its own place."""
    xdg = os.environ.get(xdg_name)
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_NAME
    if os.name == "nt":  # pragma: no cover - Windows
        return Path(platform_dir)
    return Path.home() / fallback / APP_NAME


def default_config_path() -> Path:
    return _app_dir("XDG_CONFIG_HOME", ".config", platformdirs.user_config_dir(APP_NAME, False)) / "config.yaml"


def default_db_path() -> Path:
    return _app_dir("XDG_DATA_HOME", ".local/share", platformdirs.user_data_dir(APP_NAME, False)) / "mirror.db"


class ImmichSettings(BaseModel):
    """The ``immich:`` section: which server, which key, how to talk to it."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="Immich server URL, e.g. http://photos.lan:2283")
    api_key: SecretStr | None = Field(default=None, description="API key from Account Settings > API Keys")
    insecure: bool = Field(default=False, description="skip TLS certificate verification (warns)")
    timeout: float = Field(default=30.0, gt=0, le=600, description="seconds to wait for one response")
    include_partners: bool = Field(default=False, description="also mirror partners' shared assets")

    @field_validator("api_key")
    @classmethod
    def _key_sendable(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        key = v.get_secret_value().strip()  # a YAML block scalar or a copied line brings a newline
        problem = key_problem(key)
        if problem:
            raise ValueError(problem)
        return SecretStr(key) if key else None

    @field_validator("url")
    @classmethod
    def _strip(cls, v: str | None) -> str | None:
        v = v.strip() or None if v is not None else None
        if v is not None:
            try:
                normalize_server_url(v)  # checked here so the error names the file and the key
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return v


def config_path(flag: str | os.PathLike[str] | None, env: Mapping[str, str]) -> tuple[Path, bool]:
    """The config file to read and whether the user named it (a named file must exist)."""
    if flag:
        return Path(flag).expanduser(), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser(), True
    return default_config_path(), False


def db_path(flag: str | os.PathLike[str] | None, env: Mapping[str, str], from_file: str | None) -> Path:
    if flag:
        return Path(flag).expanduser()
    if env.get(ENV_DB):
        return Path(env[ENV_DB]).expanduser()
    if from_file:
        return Path(from_file).expanduser()
    return default_db_path()


def load_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    """Read the YAML document at ``path`` as a mapping; a missing optional file is an empty one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: config file not found (create one with `autotag init`)") from None
        return {}
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot read the config file (permission denied)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not a UTF-8 text file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys (found {type(data).__name__})")
    return data


def describe_validation_error(path: Path | str, exc: ValidationError) -> str:
    """Pydantic's report as one line: file, dotted key, what is wrong (first problem, then a count)."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; `autotag init` writes a commented example)"
    elif first["type"] == "value_error":  # our own validators' messages: without pydantic's prefix
        msg = msg.removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{path}: {key}: {msg}{more}"


def key_problem(key: str) -> str | None:
    """Why an API key cannot be sent, without quoting it (the message must never carry the key)."""
    if any(not ("!" <= c <= "~") for c in key):
        return ("contains a space, a line break or a non-ASCII character, which an HTTP header cannot "
                "carry: copy the key again from Immich > Account Settings > API Keys")
    return None


def apply_environment(settings: ImmichSettings, env: Mapping[str, str]) -> ImmichSettings:
    """Environment variables override the file."""
    update: dict[str, Any] = {}
    for name in ENV_URL:
        if env.get(name):
            try:
                normalize_server_url(env[name])
            except ConfigError as exc:
                raise ConfigError(f"${name}: {exc.message}") from None
            update["url"] = env[name]
            break
    if env.get(ENV_API_KEY):
        key = env[ENV_API_KEY].strip()
        problem = key_problem(key)
        if problem:
            raise ConfigError(f"${ENV_API_KEY}: {problem}")
        update["api_key"] = SecretStr(key)
    return settings.model_copy(update=update) if update else settings


def readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def file_holds_api_key(path: Path) -> bool:
    """Whether the file itself (not the environment) carries ``immich.api_key``."""
    try:
        data = load_yaml(path, required=False)
    except ConfigError:
        return False
    section = data.get("immich")
    return isinstance(section, dict) and bool(section.get("api_key"))
