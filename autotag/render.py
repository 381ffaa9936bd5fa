"""Turning results into terminal output: tables, checklists, plan listings, summaries.

(Progress while a command works is ``autotag/progress_view.py``.)

Only the CLI calls this module; everything here takes a rich ``Console`` and plain data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autotag.counts import REVERTS, breakdown, describe
from immich_mirror.urls import web_link


def checklist(console: Console, checks: Sequence[Any]) -> None:
    for c in checks:
        marks = ("[red]FAIL[/]", "[green]ok[/]  ")
        mark = "[yellow]warn[/]" if getattr(c, "warning", False) else marks[bool(c.ok)]
        # Details quote servers and paths: never let their brackets read as markup.
        console.print(f"{mark} {escape(c.name)}: {escape(c.detail)}")
        if not c.ok and c.fix:
            console.print(f"      fix: {escape(c.fix)}")


def kv(console: Console, info: dict[str, Any]) -> None:
    width = max((len(k) for k in info), default=0)
    for key, value in info.items():
        console.print(f"{key.ljust(width)}  {value}", markup=False)


def table_out(
    console: Console, cols: Sequence[str], rows: Sequence[Sequence[Any]], *, csv: bool, as_json: bool
) -> None:
    if as_json:
        console.print_json(json.dumps([dict(zip(cols, r, strict=True)) for r in rows], default=str))
    elif csv:
        console.print(to_csv(cols, rows), end="", markup=False)
    else:
        table = Table(*cols)
        for r in rows:
            table.add_row(*("" if v is None else str(v) for v in r))
        console.print(table)


def to_csv(cols: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(cols)
    writer.writerows(rows)
    return buf.getvalue()


def plan(console: Console, result: Any, rows: Sequence[Any], *, base: str, limit: int) -> None:
    summary = result.summary
    # Statuses as the plan leaves the library: the markers listed below are what makes them so.
    console.print("status: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items())))
    if summary.rules:
        console.print("rules:  " + ", ".join(f"{k} {v}" for k, v in sorted(summary.rules.items())))
    console.print(f"plan:   {describe(summary.kinds)}")
    if set(summary.by_feature) - {"rules"}:  # organiser features on: who planned what
        width = max(len(who) for who in summary.by_feature)
        console.print("planned by:")
        for who, kinds in summary.by_feature.items():
            console.print(f"  {who:<{width}}  {', '.join(f'{k} {n}' for k, n in kinds.items())}", markup=False)
    listed = summary.rows
    date_changes(console, getattr(result, "date_changes", []))
    for r in rows[:limit]:
        link = web_link(base, r.asset_id) if base and r.asset_id else (r.asset_id or "")
        detail = f"  ({r.reason})" if r.reason else ""
        label = target_label(r.kind, r.target, r.target_name)
        console.print(f"  {r.kind:<12} {label:<40} {link}{detail}", markup=False)
    if listed > limit:
        console.print(f"  ... and {listed - limit} more (--limit N, or --json for all)")
    if result.held_back:
        console.print(
            f"held back: {result.held_back} change(s) you rejected in `autotag review` (lift them there)"
        )
    problems(console, result.problems)
    if result.enqueued is not None:
        e = result.enqueued
        console.print(
            f"outbox: {e.added} queued, {e.already_queued} already queued, {e.cancelled} cancelled; "
            "run `autotag push` to apply"
        )


def date_changes(console: Console, groups: Sequence[dict[str, Any]], examples: int = 3) -> None:
    """Date changes by the rule (and family) that produced them, with a few old -> new values each;
    ``dates.families`` switches a family off."""
    if not groups:
        return
    console.print(f"dates:  {sum(int(g['count']) for g in groups)} change(s) by rule (dates.families: off by family)")
    for g in groups:
        label = g["rule"] if g["rule"] == g["family"] else f"{g['rule']} ({g['family']})"
        console.print(f"  {label:<28} {g['count']:>6}", markup=False)
        for c in g["changes"][:examples]:
            console.print(f"      {c['name']}: {c['old']} -> {c['new']}", markup=False)
        if len(g["changes"]) > examples:
            console.print(f"      ... and {len(g['changes']) - examples} more", markup=False)


def classify_line(result: Any) -> str:
    """What classify found and queued, in one line (``run`` prints it when the step ends)."""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(result.summary.statuses.items())) or "no assets"
    e = result.enqueued
    queued = f"; {e.added} change(s) queued, {e.cancelled} cancelled" if e is not None else ""
    return f"classify: {statuses}{queued}"


def target_label(kind: str, target: str, name: str | None) -> str:
    """What a person reads for a target: album 'name', the tag value, the date."""
    if kind.startswith("album"):
        return f"album '{name}'" if name is not None else target
    return name or target


def push_result(console: Console, r: Any) -> None:
    parts = [f"push: {r.sent} applied", f"{r.requests} write requests"]
    if r.deleted:  # undo: the albums and tags its run created, counted apart as the run counted them
        parts.insert(1, f"deleted {r.deleted} album(s) and tag(s) the run created")
    if r.failed:
        parts.append(f"{r.failed} failed (retried next push)")
    if r.dead:
        parts.append(f"{r.dead} dead")
    if r.rounds:
        parts.append(
            f"verified in {r.rounds} round(s): {r.writes_lost} lost by the server, "
            f"{r.writes_reapplied} re-applied, {r.still_lost} still lost"
        )
    if r.interrupted:
        parts.append("interrupted: run `autotag push` to finish")
    console.print(", ".join(parts))


def problems(console: Console, found: Sequence[tuple[str, str]]) -> None:
    """What a feature left undone for the user to fix (the rest of the run went on)."""
    for feature, problem in found:
        console.print(f"warning: {feature}: {problem}", markup=False)


def run_line(d: dict[str, Any]) -> str:
    return (
        f"unclassified {d['unclassified']}, conflicts {d['conflicts']}, changes {breakdown(d['by_kind'])}, "
        f"{d['seconds']:.1f} s"
    )


def runs(console: Console, listed: Sequence[Any], *, title: str = "runs with changes (newest first):") -> None:
    """The runs a person typed that changed something (``autotag.runs``), one line each."""
    if not listed:
        return
    console.print(title, markup=False)
    for r in listed:
        console.print(f"  {r.line()}", markup=False)


UNDO_CREATED = "deletes what it created:"  # undo deletes the albums and tags its run created (if unused)


def undo(console: Console, result: Any, *, applied: bool, base: str = "") -> None:
    verb = "reverted" if applied else "would revert"
    if not applied:
        runs(console, result.runs)
    # What session.undo counted: with --yes what took effect, as the push line and --json say.
    console.print(f"run {result.undone_run}: {verb} {describe(result.by_kind, UNDO_CREATED)}")
    names = getattr(result, "names", {})
    for it in result.items[:20]:
        # A created album or tag to delete carries its name; other album rows are named from the mirror.
        name = (it.before or {}).get("name") if it.kind.endswith("_delete") else None
        if name is None and it.kind.startswith("album"):
            name = names.get(it.target)
        label = target_label(it.kind, it.target, name)
        # Listed as the change it reverts, as the counts above are.
        link = web_link(base, it.asset_id) if base and it.asset_id else (it.asset_id or "")  # as the plan lists
        console.print(f"  {REVERTS.get(it.kind, it.kind):<12} {label:<40} {link}", markup=False)
    if len(result.items) > 20:
        console.print(f"  ... and {len(result.items) - 20} more")
    if not applied and result.items:
        console.print("run again with --yes to apply (--run ID to revert another run)")
    if result.push is not None:
        push_result(console, result.push)


def not_applied(dead: int) -> str:
    """What to do about the mutations a push could not apply (and will never retry): one line, no prefix."""
    query = (
        "SELECT kind, target, asset_id, last_error FROM outbox WHERE state = 'dead' "
        f"ORDER BY updated_at DESC LIMIT {dead}"
    )
    return (
        f"{dead} change(s) could not be applied and will not be retried: see why with `autotag sql \"{query}\"`; "
        "the next `autotag run` plans again what the rules still want"
    )


def undo_incomplete(result: Any) -> str:
    """The summary line of an undo that could not revert everything (the command then fails)."""
    r = result.push
    left = []
    if r.dead:
        left.append(f"{r.dead} could not be reverted")
    if r.failed:
        left.append(f"{r.failed} failed and will be retried by `autotag push`")
    if r.interrupted:
        left.append("interrupted: run `autotag push` to finish")
    query = f"SELECT kind, target, asset_id, last_error FROM outbox WHERE run_id = {result.run_id} AND state = 'dead'"
    see = f' (see `autotag sql "{query}"`)' if r.dead else ""
    return f"error: run {result.undone_run} is only partly undone: " + ", ".join(left) + see


def link_resolutions(console: Console, resolutions: Sequence[Any], base: str, sample: int) -> None:
    """``links check``: per link, what it points at, how many assets, and a few of them as web links."""
    for r in resolutions:
        console.print(f"{r.section}: {r.link}", markup=False)
        links = [web_link(base, a) for a in sorted(r.asset_ids)[:sample]]
        more = f" (+{len(r.asset_ids) - len(links)} more)" if len(r.asset_ids) > len(links) else ""
        console.print(f"  {r.target.describe()}: {len(r.asset_ids)} asset(s){more}", markup=False)
        for link in links:
            console.print(f"  {link}", markup=False)
