"""The ``autotag`` command line: thin commands over ``autotag.session`` and one error handler.

Every known error becomes ``error: <one line>`` on stderr with its exit code; a traceback appears only
with ``--debug``. Data goes to stdout, progress and logs to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Any

import click
import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from typer.exceptions import TyperException

from autotag import jsonout, render
from autotag.config import AutotagConfig, load_config, parse_config, starter_config_text
from autotag.lock import DbLock
from autotag.progress_view import ProgressView
from autotag.session import Session
from immich_mirror import config as mconf
from immich_mirror.db.engine import translate_db_error
from immich_mirror.errors import ConfigError, ImmichMirrorError
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


def _setup_logging(secret: str | None) -> None:
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
        _setup_logging(key)
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


# ------------------------------------------------------------------------------------------ setup
@app.command()
def init(
    force: bool = typer.Option(False, "--force", help="overwrite an existing config"),
    url: str | None = typer.Option(None, "--server", help="Immich URL to write into the config"),
    from_old: Path | None = typer.Option(
        None, "--from-immich-autotag", help="carry over an immich-autotag config.yaml", metavar="PATH"
    ),
) -> None:
    """Write a commented starter config (mode 0600), or one carried over from immich-autotag."""
    path, _ = mconf.config_path(state.config, os.environ)
    if path.exists() and not force:
        raise ConfigError(f"{path}: a config already exists (use --force to overwrite it)")
    notes: list[str] = []
    if from_old is not None:
        from autotag.migrate_config import migrate, read_old_config
        from autotag.migrate_config import render as render_migration

        migration = migrate(read_old_config(from_old))
        if url:
            migration.config.setdefault("immich", {})["url"] = normalize_server_url(url)
        parse_config(migration.config, source=from_old)  # what we write must load
        text = render_migration(migration, from_old)
        notes = [f"carried over: {c}" for c in migration.carried]
        notes += [f"not carried over: {n}" for n in migration.not_carried]
    else:
        text = starter_config_text()
    if url and from_old is None:
        # Checked and written in canonical form, so a typo fails here and not at the first sync.
        # json.dumps quotes it as YAML would need (a URL may hold ':' or '#').
        text = text.replace("  url: null", f"  url: {json.dumps(normalize_server_url(url))}", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)
    for note in notes:
        out.print(note, markup=False, highlight=False)
    if from_old is not None:
        then = "`autotag doctor`, `autotag sync` and `autotag classify --dry-run`"
        out.print(f"wrote {path} (mode 600): check it, then run {then}")
        return
    todo = "immich.api_key" if url else "immich.url and immich.api_key"
    out.print(f"wrote {path} (mode 600): set {todo}, then run `autotag doctor`")


@app.command("export-workflow")
def export_workflow(
    out_file: Path | None = typer.Option(None, "--out", help="write the JSON here instead of stdout", metavar="FILE"),
) -> None:
    """Immich workflows (v3) for the rules the server can run itself; what it cannot is listed on stderr."""
    from autotag.workflows import export_workflows

    result = export_workflows(load())
    text = json.dumps(result.workflows, indent=2, ensure_ascii=False) + "\n"
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(result.workflows)} workflow(s) to {out_file}", markup=False, highlight=False)
    for caveat in result.caveats:
        err.print(f"check: {caveat}", markup=False, highlight=False)
    for note in result.not_expressible:
        err.print(f"not expressible: {note}", markup=False, highlight=False)


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Check config, server, version, API key, permissions and the database path."""
    from autotag.doctor import run_checks

    config_file, _named = mconf.config_path(state.config, os.environ)
    checks = run_checks(session(), config_file)
    if as_json:
        _print_json(jsonout.doctor(checks))
    else:
        render.checklist(out, checks)
    if any(not c.ok for c in checks):
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------------ mirror
@app.command()
def sync(
    full: bool = typer.Option(False, "--full", help="re-read everything and reconcile deletions"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Refresh the local mirror from Immich (incremental by default)."""
    from autotag import session as ops

    summary = ops.sync(writer(), full=full)
    end_progress()
    if as_json:
        _print_json(jsonout.sync_summary(summary))
    else:
        info.print(summary.line())


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Database path, server, last sync, counts."""
    from autotag.report import status_data, status_info

    if as_json:
        _print_json(status_data(session()))
    else:
        render.kv(out, status_info(session()))


@app.command()
def sql(
    query: str = typer.Argument(..., help="SQL to run on the mirror (read-only)"),
    csv: bool = typer.Option(False, "--csv"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run read-only SQL over the mirror and its views."""
    from autotag.report import run_sql

    cols, rows = run_sql(session(), query)
    render.table_out(out, cols, rows, csv=csv, as_json=as_json)


# ------------------------------------------------------------------------------------------ rules
@app.command()
def classify(
    dry_run: bool = typer.Option(False, "--dry-run", help="show the plan, write nothing"),
    as_json: bool = typer.Option(False, "--json", help="everything as JSON"),
    limit: int = typer.Option(20, "--limit", min=0, help="mutations to list in the dry run"),
    exclude: list[str] = typer.Option([], "--exclude", metavar="LINK", help=EXCLUDE_HELP),
    only: list[str] = typer.Option([], "--only", metavar="LINK", help=ONLY_HELP),
) -> None:
    """Classify every asset by the rules and queue the marker changes in the outbox."""
    from autotag import session as ops

    s = with_links(writer(), exclude, only)
    empty = ops.never_synced(s)
    result = ops.classify(s, dry_run=dry_run, preview=None if as_json else limit)  # rules compile even so
    end_progress()
    if empty:
        # Rules over an empty mirror plan nothing: "0 unclassified" would read as "all done".
        err.print("the mirror is empty (never synced): run `autotag sync` first, or `autotag run --dry-run`")
        if not as_json:
            return
    base = normalize_server_url(s.cfg.immich.url) if s.cfg.immich.url else ""  # host:port/api -> a web link
    render.plan(out, result, result.rows, base=base, as_json=as_json, limit=limit)


@app.command()
def push(
    dry_run: bool = typer.Option(False, "--dry-run", help="show the calls it would make"),
    strict: bool = typer.Option(False, "--strict", help="fail if a write is still lost after verifying"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Apply the queued mutations to Immich, then verify what the server kept."""
    from autotag import session as ops
    from autotag.effects import describe_pending

    s = session()
    if dry_run:
        lines = describe_pending(s.engine, s.cfg.push.chunk_size)
        if as_json:
            _print_json({"calls": lines})
            return
        for line in lines or ["nothing to push"]:
            out.print(line)
        return
    writer()
    _install_signal_handlers()
    result = ops.push(s)
    end_progress()
    if as_json:
        _print_json(jsonout.push_result(result))
    else:
        render.push_result(info, result)
    _exit_for(result, strict)


@app.command()
def run(
    full: bool = typer.Option(False, "--full", help="full sync first"),
    strict: bool = typer.Option(False, "--strict", help="fail if a write is still lost after verifying"),
    as_json: bool = typer.Option(False, "--json"),
    dry_run: bool = typer.Option(False, "--dry-run", help="sync, then show the plan; queue and push nothing"),
    limit: int = typer.Option(20, "--limit", min=0, help="mutations to list in the dry run"),
    exclude: list[str] = typer.Option([], "--exclude", metavar="LINK", help=EXCLUDE_HELP),
    only: list[str] = typer.Option([], "--only", metavar="LINK", help=ONLY_HELP),
) -> None:
    """sync + classify + push: the everyday command."""
    from autotag import session as ops

    s = with_links(writer(), exclude, only)
    _install_signal_handlers()
    if dry_run:
        summary = ops.sync(s, full=full)
        end_progress()
        if not as_json:
            info.print(summary.line(), markup=False)
        planned = ops.classify(s, dry_run=True, preview=None if as_json else limit)
        end_progress()
        base = normalize_server_url(s.cfg.immich.url) if s.cfg.immich.url else ""
        render.plan(out, planned, planned.rows, base=base, as_json=as_json, limit=limit)
        return

    def phase_done(name: str, phase: Any) -> None:
        """Each step's summary as it ends (sync, then classify, then push), not all at the end."""
        end_progress()
        if as_json:
            return
        if name == "sync":
            info.print(phase.line(), markup=False)
        elif name == "classify":
            info.print(render.classify_line(phase), markup=False)
            render.problems(info, phase.problems)
        elif name == "push":
            render.push_result(info, phase)

    result = ops.run(s, full=full, on_phase=phase_done)
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
    else:
        out.print(render.run_line(result.as_dict()))
    _exit_for(result.push, strict)


@app.command()
def undo(
    run_id: int | None = typer.Option(None, "--run", help="run to revert (default: the newest not undone yet)"),
    yes: bool = typer.Option(False, "--yes", help="apply (default: only show)"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Revert the changes of a run through the outbox."""
    from autotag import session as ops

    result = ops.undo(writer() if yes else session(), run_id=run_id, apply=yes)
    end_progress()
    if as_json:
        _print_json(jsonout.undo(result, applied=yes))
    else:
        render.undo(out, result, applied=yes)
    pushed = result.push
    if pushed is not None and (pushed.dead or pushed.failed or pushed.interrupted):
        # A partial undo is no success: a script must see it, and the user what is left.
        err.print(render.undo_incomplete(result), markup=False)
        _stop["reported"] = True
        raise typer.Exit(130 if pushed.interrupted and not (pushed.dead or pushed.failed) else 1)


@app.command()
def report(
    directory: Path = typer.Argument(Path("autotag-report"), help="where to write the report"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Write the modification log (CSV) and statistics (JSON + summary)."""
    from autotag.report import run_list, write_report

    paths = write_report(session(), directory)
    if as_json:
        stats = next(p for p in paths if p.name == "statistics.json")
        _print_json(jsonout.report(paths, json.loads(stats.read_text(encoding="utf-8"))))
        return
    for p in paths:
        out.print(str(p))
    render.runs(out, run_list(session()))


@app.command()
def review(
    port: int = typer.Option(0, "--port", min=0, max=65535, help="port to listen on (default: a free one)"),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="interface to listen on (default: this machine only; any other warns)"
    ),
    open_browser: bool = typer.Option(False, "--open", help="open the page in your web browser"),
) -> None:
    """Review the plan as photos in a local web page: approve or reject changes, then apply them."""
    import webbrowser

    from autotag.web.server import ReviewServer, is_loopback

    s = session()
    if not s.db_path.exists():
        raise ImmichMirrorError(f"{s.db_path}: nothing mirrored yet: run `autotag sync` first")
    if not is_loopback(host):
        err.print(
            f"warning: --host {host}: the review page can be reached from other machines; anyone who has its "
            "URL (it carries the access token) can apply changes to your library",
            markup=False,
        )
    server = ReviewServer(s, host=host, port=port)
    out.print(f"review the plan at {server.url}", markup=False)
    err.print("(Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(server.url)
    server.run()


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
    _install_signal_handlers()
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


@links_app.command("check")
def links_check(
    exclude: list[str] = typer.Option([], "--exclude", metavar="LINK", help=EXCLUDE_HELP),
    only: list[str] = typer.Option([], "--only", metavar="LINK", help=ONLY_HELP),
    sample: int = typer.Option(3, "--sample", min=0, help="web links to show per link"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Show what each exclude:/only: link resolves to in the mirror (count and a few web links)."""
    from autotag.links import resolve_config_links, session_base

    s = with_links(session(), exclude, only)
    resolutions = resolve_config_links(s)
    if as_json:
        _print_json(jsonout.link_resolutions(resolutions, session_base(s)))
        return
    if not resolutions:
        out.print("no links: add exclude: or only: to the config, or pass --exclude/--only")
        return
    render.link_resolutions(out, resolutions, session_base(s), sample)


# ------------------------------------------------------------------------------------------ plumbing
def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


_stop = {"requested": False, "reported": False}  # reported: the command said itself that it was interrupted


def _install_signal_handlers() -> None:
    """SIGTERM / first Ctrl-C: finish the current batch, then stop cleanly."""

    def handler(signum: int, _frame: Any) -> None:
        if _stop["requested"]:
            raise KeyboardInterrupt
        _stop["requested"] = True
        err.print("stopping after the current batch (press Ctrl-C again to abort now)")

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    s = session()
    s.should_stop = lambda: _stop["requested"]


def _exit_for(result: Any, strict: bool) -> None:
    if result.interrupted:
        _stop["reported"] = True  # push_result said how to finish
        raise typer.Exit(130)
    if result.dead:
        err.print(f"warning: {result.dead} mutation(s) could not be applied (see `autotag sql` on outbox)")
    if strict and (result.still_lost or result.failed):
        raise typer.Exit(4)


def _redact(text: str) -> str:
    """Defence in depth for error lines, as RedactSecrets is for logs: no path may print the key."""
    secrets = {os.environ.get(mconf.ENV_API_KEY, "")}
    if state.session is not None and state.session.cfg.immich.api_key is not None:
        secrets.add(state.session.cfg.immich.api_key.get_secret_value())
    for secret in sorted({x for s in secrets for x in (s, s.strip())}, key=len, reverse=True):
        if len(secret) >= 6:
            text = text.replace(secret, "***")
    return text


def _report(exc: ImmichMirrorError, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    err.print(f"error: {_redact(exc.message)}", markup=False)
    return exc.exit_code


def _report_unexpected(exc: Exception, debug: bool) -> int:
    """Anything no layer turned into an ImmichMirrorError: still one line, and the key never in it."""
    if debug:
        traceback.print_exc()
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        line = f"error: {exc.strerror}{where}"
    else:
        detail = " ".join(str(exc).split())[:300]
        line = f"error: unexpected {type(exc).__name__}: {detail} (a bug: rerun with --debug and report it)"
    err.print(_redact(line), markup=False)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("AUTOTAG_DEBUG"))
    code = 0
    try:
        # Without standalone mode click returns the code of a typer.Exit instead of raising it.
        _stop.update(requested=False, reported=False)
        result = app(args=args, prog_name="autotag", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if code == 130 and not _stop["reported"]:
            # Typer turns Ctrl-C into a silent exit 130 (sync, classify, a second Ctrl-C during a push).
            err.print("interrupted; nothing lost, rerun to go on")
    except ImmichMirrorError as exc:
        code = _report(exc, debug)
    except (DBAPIError, sqlite3.Error) as exc:
        # open_db translates driver errors, but a lock taken or a disk filling up later (mid-sync,
        # mid-push) surfaces here: the same one line, naming the file.
        db = state.session.db_path if state.session is not None else Path("the mirror database")
        code = _report(translate_db_error(db, exc), debug)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except (click.ClickException, TyperException) as exc:
        # A usage mistake (unknown command or option, a missing or bad value): click's usage message,
        # its "did you mean", exit 2. Typer carries its own copy of click, whose exceptions derive
        # from TyperException, not from click's: both are usage errors, neither is a bug.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}", markup=False)
        code = int(getattr(exc, "exit_code", 2))
    except (KeyboardInterrupt, click.exceptions.Abort, typer.Abort):
        # Every write is its own transaction (a page, a batch): what was done stays, the rest is redone.
        err.print("interrupted; nothing lost, rerun to go on")
        code = 130
    except Exception as exc:  # the last resort: a bug or an OS error no layer above named
        code = _report_unexpected(exc, debug)
    finally:
        if state.view is not None:
            # A failed command's unfinished phase gets no line: the error says where it stopped.
            if code in (0, 4):
                state.view.close()
            else:
                state.view.discard()
            state.view = None
        if state.session is not None:
            state.session.close()
            state.session = None
        if state.lock is not None:
            state.lock.release()
            state.lock = None
    return code
