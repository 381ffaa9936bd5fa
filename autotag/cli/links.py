"""``links check``: what each ``exclude:``/``only:`` link resolves to in the mirror.
"""

from __future__ import annotations

import typer

from autotag import jsonout, render
from autotag.cli.base import EXCLUDE_HELP, ONLY_HELP, links_app, out, print_json, session, with_links


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
        print_json(jsonout.link_resolutions(resolutions, session_base(s)))
        return
    if not resolutions:
        out.print("no links: add exclude: or only: to the config, or pass --exclude/--only")
        return
    render.link_resolutions(out, resolutions, session_base(s), sample)
