"""What ``--json`` prints, command by command: plain dicts of the results, ids kept (docs/json.md).

Only the CLI calls this module. Every key here is listed in docs/json.md, and a test compares the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autotag.counts import total
from immich_mirror.urls import web_link


def sync_summary(summary: Any) -> dict[str, Any]:
    stats = summary.stats
    return {
        "run_id": summary.run_id,
        "mode": summary.mode,
        **{name: dataclasses.asdict(getattr(stats, name)) for name in ("assets", "albums", "tags")},
        **{
            name: {"added": getattr(stats, name).added, "removed": getattr(stats, name).removed}
            for name in ("album_links", "tag_links")
        },
        "people": dataclasses.asdict(stats.people),
        "people_links": {"added": stats.people_links.added, "removed": stats.people_links.removed},
        "people_skipped": stats.people_skipped,
        "requests": summary.requests,
        "bytes": summary.bytes,
        "seconds": round(summary.seconds, 2),
        "server_version": summary.server_version,
    }


def plan(result: Any, base: str) -> dict[str, Any]:
    """``classify`` (and its dry run, and ``run --dry-run``): the plan's counts and its mutations."""
    summary = result.summary
    return {
        "by_status": summary.statuses,
        "by_rule": summary.rules,
        "by_kind": summary.kinds,
        "changes": summary.changes,
        "by_feature": summary.by_feature,
        "enqueued": result.enqueued.__dict__ if result.enqueued else None,
        "problems": [f"{f}: {p}" for f, p in result.problems],
        "held_back": result.held_back,
        "date_changes": getattr(result, "date_changes", []),
        "mutations": [
            {**r.__dict__, "link": web_link(base, r.asset_id) if base and r.asset_id else None}
            for r in result.rows
        ],
    }


def run(result: Any) -> dict[str, Any]:
    return dict(result.as_dict())


def push_result(result: Any) -> dict[str, Any]:
    return dict(result.as_dict())


def undo(result: Any, *, applied: bool) -> dict[str, Any]:
    return {
        "undone_run": result.undone_run,
        "run_id": result.run_id,
        "applied": applied,
        # Counted as the run lists, `run --json` and `report` count the run's (with --yes: what took effect)
        "total": total(result.by_kind),
        "by_kind": result.by_kind,
        "changes": [
            {"kind": it.kind, "target": it.target, "asset_id": it.asset_id, "payload": it.payload}
            for it in result.items
        ],
        "push": push_result(result.push) if result.push is not None else None,
    }


def doctor(checks: Sequence[Any]) -> dict[str, Any]:
    return {
        "ok": all(c.ok for c in checks),
        "checks": [
            {"name": c.name, "ok": bool(c.ok), "warning": bool(getattr(c, "warning", False)), "detail": c.detail,
             "fix": c.fix or None}
            for c in checks
        ],
    }


def link_resolutions(resolutions: Sequence[Any], base: str) -> list[dict[str, Any]]:
    return [
        {
            "section": r.section,
            "link": r.link,
            "target": r.target.describe(),
            "assets": len(r.asset_ids),
            "asset_ids": sorted(r.asset_ids),
            "album_ids": sorted(getattr(r, "album_ids", ())),
            "tag_values": sorted(getattr(r, "tag_values", ())),
            "web_links": [web_link(base, a) for a in sorted(r.asset_ids)] if base else [],
        }
        for r in resolutions
    ]


def report(paths: Sequence[Path], statistics: dict[str, Any]) -> dict[str, Any]:
    return {"files": [str(p) for p in paths], "statistics": statistics}
