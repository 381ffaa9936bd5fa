"""What was done, and taking it back: ``undo``, ``report``, and the ``review`` page.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from autotag import jsonout, render
from autotag.cli.base import app, end_progress, err, out, print_json, session, stop, web_base, writer
from immich_mirror.errors import ImmichMirrorError


@app.command()
def undo(
    run_id: int | None = typer.Option(None, "--run", help="run to revert (default: the newest not undone yet)"),
    yes: bool = typer.Option(False, "--yes", help="apply (default: only show)"),
    as_json: bool = typer.Option(False, "--json", help="the result as JSON (fields: docs/json.md)"),
) -> None:
    """Revert the changes of a run through the outbox."""
    from autotag import session as ops

    s = writer() if yes else session()
    result = ops.undo(s, run_id=run_id, apply=yes)
    end_progress()
    if as_json:
        print_json(jsonout.undo(result, applied=yes))
    else:
        render.undo(out, result, applied=yes, base=web_base(s))
    pushed = result.push
    if pushed is not None and (pushed.dead or pushed.failed or pushed.interrupted):
        # A partial undo is no success: a script must see it, and the user what is left.
        err.print(render.undo_incomplete(result), markup=False)
        stop["reported"] = True
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
        print_json(jsonout.report(paths, json.loads(stats.read_text(encoding="utf-8"))))
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
