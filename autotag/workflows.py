"""What of the config Immich's own workflow engine can run: workflow bodies plus what it cannot.

Pure: config in, ``(workflows, not_expressible)`` out; the CLI writes them. Each workflow is a
``POST /api/workflows`` body of the v3 shape (``WorkflowCreateDto``: trigger, name, description, enabled,
steps of ``{method, config, enabled}``), with methods of the core plugin ``immich-plugin-core``. The facts
and the source files they come from are in docs/workflows.md.

A workflow acts on ONE asset when its trigger fires; everything our engine decides over the whole
library (classification, markers, duplicates, date repair) or from state an upload does not have yet
(tags, album membership) cannot be a workflow. Those parts are listed with the reason, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from autotag.config import AutotagConfig

CORE_PLUGIN = "immich-plugin-core"
FILE_FILTER = f"{CORE_PLUGIN}#assetFileFilter"
ADD_TO_ALBUMS = f"{CORE_PLUGIN}#assetAddToAlbums"
TRIGGER = "AssetCreate"

# Python-only regex syntax the core plugin's JavaScript RegExp would reject or read differently.
_PY_ONLY = re.compile(r"\(\?P=|\\A|\\Z|\(\?[aiLmsux]+\)|\(\?#|\\[gG]<")


@dataclass(frozen=True)
class NotExpressible:
    """A config part no workflow can do: ``where`` is its config path, ``reason`` says why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


# What to check before enabling an exported workflow (docs/workflows.md, "Before you enable them").
CAVEATS = (
    "exported disabled: a run reads its steps without ORDER BY (server/src/repositories/workflow.repository.ts, "
    "getForWorkflowRun), so the add-to-album step may run before the filter; test on a few uploads first",
    "path matching needs assetFileFilter's usePath (newest Immich source); the immich-plugin-core 2.0.1 "
    "manifest matches the file name only: check that the imported filter shows path matching",
)


@dataclass(frozen=True)
class WorkflowExport:
    workflows: list[dict[str, Any]]
    not_expressible: list[NotExpressible]
    # empty when there is no workflow: nothing to check then
    caveats: tuple[str, ...] = ()


def js_regex(pattern: str) -> str | None:
    """``pattern`` in JavaScript syntax, or None when it uses Python-only constructs.

    Named groups are the one common difference: ``(?P<name>...)`` is ``(?<name>...)`` in JavaScript.
    """
    if _PY_ONLY.search(pattern):
        return None
    return pattern.replace("(?P<", "(?<")


def _folder_workflows(cfg: AutotagConfig) -> tuple[list[dict[str, Any]], list[NotExpressible]]:
    workflows: list[dict[str, Any]] = []
    notes: list[NotExpressible] = []
    for i, rule in enumerate(cfg.folder_albums.rules):
        where = f"folder_albums.rules[{i}] ({rule.album})"
        if re.search(r"\{\w+\}", rule.album):
            notes.append(NotExpressible(where, (
                "the album name is built from the path (a {group} of path_regex); the add-to-album action "
                "takes one fixed album, so each folder would need its own workflow")))
            continue
        pattern = js_regex(rule.path_regex)
        if pattern is None:
            notes.append(NotExpressible(where, (
                f"path_regex {rule.path_regex!r} uses Python-only regex syntax the plugin's JavaScript "
                "RegExp does not read")))
            continue
        description = f"autotag folder_albums.rules[{i}]: files whose path matches {rule.path_regex} go to {rule.album}"
        if rule.external_only:
            notes.append(NotExpressible(f"{where} external_only", (
                "the workflow cannot tell external-library assets from uploads: it also files uploads "
                "whose path matches (exported anyway; set external_only: false to silence this)")))
        workflows.append({
            "trigger": TRIGGER,
            "name": f"autotag: folder album {rule.album}",
            "description": description,
            # Off until the user has checked it (CAVEATS): a wrong filter would file every upload.
            "enabled": False,
            "steps": [
                {
                    "method": FILE_FILTER,
                    "config": {"pattern": pattern, "matchType": "regex", "caseSensitive": True, "usePath": True},
                    "enabled": True,
                },
                {
                    # albumIds is empty: ids differ per server, so the album is named and picked on import.
                    "method": ADD_TO_ALBUMS,
                    "config": {"albumIds": [], "albumName": rule.album},
                    "enabled": True,
                },
            ],
        })
    return workflows, notes


def _other_notes(cfg: AutotagConfig) -> list[NotExpressible]:
    notes: list[NotExpressible] = []
    for i, rule in enumerate(cfg.rules):
        notes.append(NotExpressible(f"rules[{i}] {rule.name}", (
            "classification is a marker computed over the whole library (an asset is unclassified or in "
            "conflict only by comparing all rules); a workflow acts on one new upload and has no "
            "album-name or tag filter")))
    for i, tag_rule in enumerate(cfg.tag_albums.rules if cfg.tag_albums.enabled else []):
        where = f"tag_albums.rules[{i}] ({tag_rule.tag} -> {tag_rule.album})"
        if tag_rule.direction in ("to_album", "both"):
            notes.append(NotExpressible(f"{where} to_album", (
                "needs a has-tag filter: the core plugin has none, and a new upload carries no tags when "
                "AssetCreate fires")))
        if tag_rule.direction in ("to_tag", "both"):
            notes.append(NotExpressible(f"{where} to_tag", (
                "needs an in-album filter and an add-tag action: the core plugin has neither")))
    if cfg.duplicates.enabled:
        notes.append(NotExpressible("duplicates", (
            "duplicate groups are found by Immich's duplicate detection after upload and compared as a "
            "group; a workflow sees one asset")))
    if cfg.dates.enabled:
        notes.append(NotExpressible("dates", (
            "date repair writes dateTimeOriginal; the core plugin has no action that changes dates")))
    for i, smart in enumerate(cfg.smart_albums):
        notes.append(NotExpressible(f"smart_albums[{i}] ({smart.album})", (
            "a smart album also removes photos that stop matching and reads tags, people and albums an "
            "upload does not have when AssetCreate fires; the core plugin only adds, with a file filter")))
    if cfg.album_dates.enabled:
        notes.append(NotExpressible("album_dates", (
            "compares an asset's date with the albums it is in; a new upload is in no album and the core "
            "plugin has no album filter")))
    return notes


def export_workflows(cfg: AutotagConfig) -> WorkflowExport:
    """The workflows for what the engine can express (only enabled features), and the rest with reasons."""
    workflows: list[dict[str, Any]] = []
    notes: list[NotExpressible] = []
    if cfg.folder_albums.enabled:
        workflows, notes = _folder_workflows(cfg)
    return WorkflowExport(workflows, notes + _other_notes(cfg), CAVEATS if workflows else ())
