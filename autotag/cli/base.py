"""The CLI's shared front: the typer app and its global options, the consoles, the session a command
runs on (config, logging, the writer's lock), and the helpers commands share (JSON out, Ctrl-C, exit codes).

Commands live beside it, one module per family (``setup``, ``mirror``, ``apply``, ``history``,
``service``, ``links``); ``entry.main`` runs the app under the one error handler.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from autotag import render
from autotag.config import AutotagConfig, load_config
from autotag.lock import DbLock
from autotag.progress_view import ProgressView
from autotag.session import Session
from immich_mirror import config as mconf
from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url

app = typer.Typer(
    add_completion=False,
    # click's plain help: typer's rich panels print "<bool>" after every flag, as if it took a value.
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Mirror your Immich library into SQLite and mark unorganised photos with tags.",
)
links_app = typer.Typer(
    help="Immich web links in `exclude:` and `only:`.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(links_app, name="links")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
# Summaries and progress lines (sync, push, watch): stderr too, but silent with -q, which keeps errors only.
info = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("autotag")


class State:
    config: Path | None = None
    db: Path | None = None
    url: str | None = None
    insecure: bool = False
    include_partners: bool = False
    debug: bool = False
    verbosity: int = 0
    session: Session | None = None
    lock: DbLock | None = None
    view: ProgressView | None = None


state = State()


class RedactSecrets(logging.Filter):
    """Defence in depth: even a log line that somehow carried the API key shows it redacted."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            msg = record.getMessage()
            for s in self.secrets:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, None
        return True


class CurrentStderr:
    """``sys.stderr`` as it is at each write: while a live progress line is shown, rich swaps in a proxy
    that prints above it, so a warning logged mid-push does not land in the middle of the bar."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def setup_logging(secret: str | None) -> None:
    level = logging.WARNING - 10 * state.verbosity if state.verbosity >= 0 else logging.ERROR
    handler = logging.StreamHandler(CurrentStderr())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([secret] if secret else []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, level))
    logging.getLogger("httpx").setLevel(logging.WARNING if state.verbosity < 2 else logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def load() -> AutotagConfig:
    path, named = mconf.config_path(state.config, os.environ)
    cfg = load_config(path if (named or path.exists()) else None, env=os.environ)
    if state.url:
        try:
            normalize_server_url(state.url)
        except ConfigError as exc:
            raise ConfigError(f"--url: {exc.message}") from None
        cfg = cfg.model_copy(update={"immich": cfg.immich.model_copy(update={"url": state.url})})
    if state.insecure:
        cfg = cfg.model_copy(update={"immich": cfg.immich.model_copy(update={"insecure": True})})
    if state.include_partners:
        cfg = cfg.model_copy(update={"immich": cfg.immich.model_copy(update={"include_partners": True})})
    if cfg.immich.insecure:
        err.print("warning: TLS certificate verification is off (--insecure / immich.insecure)")
    if path.exists() and mconf.file_holds_api_key(path) and mconf.readable_by_others(path):
        err.print(f"warning: {path} holds an API key and is readable by others: chmod 600 {path}")
    return cfg


def session() -> Session:
    if state.session is None:
        cfg = load()
        key = cfg.immich.api_key.get_secret_value() if cfg.immich.api_key else None
        setup_logging(key)
        db = mconf.db_path(state.db, os.environ, cfg.db)
        state.view = ProgressView(err, quiet=state.verbosity < 0)
        state.session = Session(cfg=cfg, db_path=db, progress=state.view)
    return state.session


def end_progress() -> None:
    """Before a summary line: the phase under way is over (its live line erased, or its log line written)."""
    if state.view is not None:
        state.view.end()


def writer() -> Session:
    """The session of a command that writes the mirror: one such process per database at a time."""
    s = session()
    if state.lock is None:
        state.lock = DbLock(s.db_path)
        state.lock.acquire()
    return s


EXCLUDE_HELP = "Immich web link or id to leave alone (repeatable; added to the config's exclude:)"
ONLY_HELP = "Immich web link or id to restrict the rules to (repeatable; replaces the config's only:)"


def web_base(s: Session) -> str:
    """The Immich web address asset links point at, or "" when none is configured (ids are shown then)."""
    return normalize_server_url(s.cfg.immich.url) if s.cfg.immich.url else ""


def with_links(s: Session, exclude: list[str], only: list[str]) -> Session:
    update: dict[str, list[str]] = {}
    if exclude:
        update["exclude"] = [*s.cfg.exclude, *exclude]
    if only:
        update["only"] = list(only)
    if update:
        s.cfg = s.cfg.model_copy(update=update)
    return s


@app.callback()
def _global(
    config: Path | None = typer.Option(None, "--config", help="config file (default: XDG config dir)"),
    db: Path | None = typer.Option(None, "--db", help="mirror database (default: XDG data dir)"),
    url: str | None = typer.Option(None, "--url", help="Immich server URL (overrides config and env)"),
    insecure: bool = typer.Option(False, "--insecure", help="do not verify TLS certificates (warns)"),
    include_partners: bool = typer.Option(
        False, "--include-partners", help="also mirror assets partners share with you (default: yours only)"
    ),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="more log output (-vv for HTTP)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="only errors"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    state.config, state.db, state.url, state.insecure, state.debug = config, db, url, insecure, debug
    state.include_partners = include_partners
    state.verbosity = -1 if quiet else verbose
    info.quiet = quiet


# ------------------------------------------------------------------------------------------ shared by commands
def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


stop = {"requested": False, "reported": False}  # reported: the command said itself that it was interrupted


def install_signal_handlers() -> None:
    """SIGTERM / first Ctrl-C: finish the current batch, then stop cleanly."""

    def handler(signum: int, _frame: Any) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        err.print("stopping after the current batch (press Ctrl-C again to abort now)")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    s = session()
    s.should_stop = lambda: stop["requested"]


def exit_for(result: Any, strict: bool) -> None:
    """A push's exit code: 1 when rows are dead (as a partial undo), 130 when stopped, 4 for --strict."""
    if result.dead:
        # Dead rows are never retried: a script must see them, and the user what to do.
        err.print(f"error: {render.not_applied(result.dead)}", markup=False)
        stop["reported"] = True
        raise typer.Exit(1)
    if result.interrupted:
        stop["reported"] = True  # push_result said how to finish
        raise typer.Exit(130)
    if strict and (result.still_lost or result.failed):
        raise typer.Exit(4)
