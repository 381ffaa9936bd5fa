"""The service files: the systemd user unit `autotag install-service` writes, and the container image."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autotag.cli import main

ROOT = Path(__file__).resolve().parents[2]


# `isolated` (tests/autotag/conftest.py): no environment of the developer leaks in.
pytestmark = pytest.mark.usefixtures("isolated")


def _exec_start(unit: Path) -> list[str]:
    (line,) = [ln for ln in unit.read_text().splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_install_service_writes_a_unit_that_runs_this_autotag(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = isolated / "my mirror.db"
    assert main(["--db", str(db), "install-service", "--interval", "90"]) == 0
    out = capsys.readouterr().out
    unit = isolated / "xdg-config" / "systemd" / "user" / "autotag-watch.service"
    env_file = isolated / "xdg-config" / "immich-mirror" / "env"
    assert str(unit) in out and "systemctl --user" in out
    argv = _exec_start(unit)
    assert argv == [sys.executable, "-m", "autotag", "--db", str(db), "watch", "--interval", "90"]
    assert f"EnvironmentFile={env_file}" in unit.read_text()
    assert "IMMICH_API_KEY=" not in unit.read_text()  # the key lives in the env file only
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    # The command in the unit really starts this autotag (its --help, to stay offline).
    done = subprocess.run([*argv[:3], "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "watch" in done.stdout


def test_install_service_keeps_the_key_file_and_refuses_to_overwrite(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = isolated / "xdg-config" / "immich-mirror" / "env"
    env_file.parent.mkdir(parents=True)
    env_file.write_text("IMMICH_API_KEY=mine\n")
    assert main(["install-service"]) == 0
    assert env_file.read_text() == "IMMICH_API_KEY=mine\n"
    assert "kept" in capsys.readouterr().out
    assert main(["install-service"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["install-service", "--force"]) == 0


def _docker_ready() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return "no Docker daemon is reachable (docker info failed)"
    return None


def test_dockerfile_runs_as_a_user_with_the_db_on_a_volume() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "\nUSER autotag\n" in text and 'VOLUME ["/data"]' in text and "AUTOTAG_DB=/data/mirror.db" in text
    assert "IMMICH_API_KEY" not in text.split("#", 1)[0]  # never baked into the image
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert "env_file: autotag.env" in compose and "watch" in compose


@pytest.mark.slow
def test_image_builds_and_runs_help() -> None:
    reason = _docker_ready()
    if reason:
        pytest.skip(reason)
    tag = "autotag-test:latest"
    build = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-2000:]
    run = subprocess.run(["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "watch" in run.stdout
    who = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"], capture_output=True, text=True)
    assert who.stdout.strip() != "0"
