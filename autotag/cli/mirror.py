"""The mirror: ``sync`` it from Immich, its ``status``, read-only ``sql`` over it.
"""

from __future__ import annotations

import typer

from autotag import jsonout, render
from autotag.cli.base import app, end_progress, info, out, print_json, session, writer


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
        print_json(jsonout.sync_summary(summary))
    else:
        info.print(summary.line())


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Database path, server, last sync, counts."""
    from autotag.report import status_data, status_info

    if as_json:
        print_json(status_data(session()))
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
