"""Setting up: ``init`` (a starter or carried-over config), ``export-workflow``, ``doctor``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from autotag import jsonout, render
from autotag.cli.base import app, err, load, out, print_json, session, state
from autotag.config import parse_config, starter_config_text
from immich_mirror import config as mconf
from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url


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
        print_json(jsonout.doctor(checks))
    else:
        render.checklist(out, checks)
    if any(not c.ok for c in checks):
        raise typer.Exit(1)
