"""The rules applied: ``classify`` (plan into the outbox), ``push`` (outbox to Immich), ``run`` (both,
after a sync).
"""

from __future__ import annotations

from typing import Any

import typer

from autotag import jsonout, render
from autotag.cli.base import (
    EXCLUDE_HELP,
    ONLY_HELP,
    app,
    end_progress,
    err,
    exit_for,
    info,
    install_signal_handlers,
    out,
    print_json,
    session,
    web_base,
    with_links,
    writer,
)


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
    base = web_base(s)  # host:port/api -> a web link
    if as_json:
        print_json(jsonout.plan(result, base))
    else:
        render.plan(out, result, result.rows, base=base, limit=limit)


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
            print_json({"calls": lines})
            return
        for line in lines or ["nothing to push"]:
            out.print(line)
        return
    writer()
    install_signal_handlers()
    result = ops.push(s)
    end_progress()
    if as_json:
        print_json(jsonout.push_result(result))
    else:
        render.push_result(info, result)
    exit_for(result, strict)


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
    install_signal_handlers()
    if dry_run:
        summary = ops.sync(s, full=full)
        end_progress()
        if not as_json:
            info.print(summary.line(), markup=False)
        planned = ops.classify(s, dry_run=True, preview=None if as_json else limit)
        end_progress()
        base = web_base(s)
        if as_json:
            print_json(jsonout.plan(planned, base))
        else:
            render.plan(out, planned, planned.rows, base=base, limit=limit)
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
        print_json(jsonout.run(result))
    else:
        out.print(render.run_line(result.as_dict()))
    exit_for(result.push, strict)
