"""``autotag install-service``: the systemd user unit that runs ``autotag watch``, and its key file.

The unit ships with the package (``autotag-watch.service``) as a template with three blanks: the
command (this interpreter's absolute path with ``-m autotag``: a unit needs an absolute path, and a venv's
script is not on systemd's PATH), the interval and the environment file. The API key never goes into
the unit: it goes into that environment file, readable by its owner only, created with placeholders
when missing and never overwritten.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from immich_mirror.errors import ConfigError

UNIT_NAME = "autotag-watch.service"
ENV_TEMPLATE = """\
# Read by the autotag-watch service; keep this file mode 600.
IMMICH_URL=https://photos.example.com
IMMICH_API_KEY=paste-your-key-here
"""


@dataclass(frozen=True)
class InstalledService:
    unit: Path
    env_file: Path
    env_created: bool


def autotag_command(python: Path, global_options: list[str]) -> str:
    """``/abs/python -m autotag [--config ...]``: absolute, so it works whatever systemd's PATH is."""
    if not python.is_absolute():
        raise ConfigError(f"{python}: the service needs an absolute interpreter path")
    return shlex.join([str(python), "-m", "autotag", *global_options])


def unit_text(command: str, interval: float, env_file: Path) -> str:
    template = resources.files("autotag").joinpath(UNIT_NAME).read_text(encoding="utf-8")
    for blank, value in (("{autotag}", command), ("{interval}", f"{interval:g}"), ("{env_file}", str(env_file))):
        template = template.replace(blank, value)
    return template


def install_user_service(
    config_home: Path, app_config_dir: Path, command: str, *, interval: float, force: bool
) -> InstalledService:
    """Write the unit under ``config_home/systemd/user`` and the env file under ``app_config_dir``."""
    unit = config_home / "systemd" / "user" / UNIT_NAME
    if unit.exists() and not force:
        raise ConfigError(f"{unit}: a unit already exists (use --force to overwrite it)")
    env_file = app_config_dir / "env"
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(unit_text(command, interval, env_file), encoding="utf-8")
    created = not env_file.exists()
    if created:
        app_config_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(ENV_TEMPLATE)
    return InstalledService(unit, env_file, created)
