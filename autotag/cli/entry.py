"""``main``: the app run under the one error handler.

Every known error becomes ``error: <one line>`` on stderr with its exit code; a traceback appears only
with ``--debug``. Data goes to stdout, progress and logs to stderr.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import traceback
from pathlib import Path

import click
import typer
from sqlalchemy.exc import DBAPIError
from typer.exceptions import TyperException

from autotag.cli.base import app, err, state, stop
from immich_mirror import config as mconf
from immich_mirror.db.engine import translate_db_error
from immich_mirror.errors import ImmichMirrorError


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
        stop.update(requested=False, reported=False)
        result = app(args=args, prog_name="autotag", standalone_mode=False)
        code = result if isinstance(result, int) else 0
        if code == 130 and not stop["reported"]:
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
