"""Running unattended: ``watch`` and the systemd unit that runs it (``install-service``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from autotag import render
from autotag.cli.base import (
    EXCLUDE_HELP,
    ONLY_HELP,
    app,
    end_progress,
    err,
    info,
    install_signal_handlers,
    out,
    state,
    with_links,
    writer,
)
from immich_mirror import config as mconf


@app.command()
def watch(
    interval: float = typer.Option(60.0, "--interval", min=1.0, help="seconds between cycles"),
    max_backoff: float = typer.Option(600.0, "--max-backoff", help="longest wait while Immich is down (s)"),
    cycles: int | None = typer.Option(None, "--cycles", min=1, help="stop after N cycles (default: never)"),
    exclude: list[str] = typer.Option([], "--exclude", metavar="LINK", help=EXCLUDE_HELP),
    only: list[str] = typer.Option([], "--only", metavar="LINK", help=ONLY_HELP),
) -> None:
    """sync + classify + push every --interval seconds, while you edit in Immich (Ctrl-C stops)."""
    from autotag.watch import Watcher

    s = with_links(writer(), exclude, only)
    install_signal_handlers()
    info.print(f"watching {s.db_path} every {interval:g} s (Ctrl-C to stop)", markup=False)

    def say(line: str, console: Console = err) -> None:
        end_progress()
        console.print(line, markup=False)

    result = Watcher(
        s,
        interval=interval,
        max_backoff=max_backoff,
        max_cycles=cycles,
        on_status=lambda st: say(st.line(), info),
        on_event=say,
    ).run()
    if result.stopped:
        info.print(f"stopped after {result.cycles} cycle(s), {result.changes} change(s); nothing is lost")
    if result.dead:
        # Stopped by a signal (systemd's stop), watch still exits 0; a finite --cycles run is a script's.
        err.print(f"{'warning' if result.stopped else 'error'}: {render.not_applied(result.dead)}", markup=False)
        if not result.stopped:
            raise typer.Exit(1)


@app.command("install-service")
def install_service(
    interval: float = typer.Option(60.0, "--interval", min=1.0, help="seconds between watch cycles"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing unit"),
) -> None:
    """Write a systemd user unit that runs `autotag watch`, and a private file for the key."""
    from autotag.service import autotag_command, install_user_service

    options = [opt for flag, value in (("--config", state.config), ("--db", state.db)) if value
               for opt in (flag, str(Path(value).expanduser().resolve()))]
    config_dir = mconf.default_config_path().parent
    xdg = os.environ.get("XDG_CONFIG_HOME")
    config_home = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    done = install_user_service(
        config_home, config_dir, autotag_command(Path(sys.executable), options), interval=interval, force=force
    )
    out.print(f"wrote {done.unit}", markup=False)
    if done.env_created:
        out.print(f"wrote {done.env_file} (mode 600): put your IMMICH_URL and IMMICH_API_KEY in it", markup=False)
    else:
        out.print(f"kept {done.env_file} (it holds your IMMICH_URL and IMMICH_API_KEY)", markup=False)
    out.print("then: systemctl --user daemon-reload && systemctl --user enable --now autotag-watch", markup=False)
