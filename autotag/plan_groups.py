"""The plan grouped the way a person decides: by feature, then by rule, album, tag or date family.

Works on the rows ``classify --dry-run`` computes (``autotag.session.classify``), never on a plan of its
own, so the counts are the dry run's. Grouping reads only what every plan row has (kind, target, the
asset's classification); the reason is shown as the plan words it, so what the features say flows
through unchanged. Every change is described with names (album names, tag values, dates), ids stay in
the data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from autotag.config import AutotagConfig
from autotag.plan import PlanRow

NEW_ALBUM_PREFIX = "name:"
# Feature order on the page: the classification markers first (what the tool is for), then the rest.
FEATURE_ORDER = ("markers", "duplicates", "dates", "album dates", "albums", "tags")
_VERBS = {"add": "add", "remove": "remove"}
# "... from the file name, earlier" -> "the file name": the words after "from" up to the first
# punctuation, a quote or a token that is a value (digits, a file name).
_FAMILY = re.compile(r"\bfrom ((?:[a-z]+ ?)+)", re.IGNORECASE)


@dataclass(frozen=True)
class Labels:
    """What grouping needs to know beyond the rows: which tags are whose, album and rule names."""

    markers: frozenset[str]
    feature_tags: Mapping[str, str]  # tag value -> feature label (duplicates, album dates)
    album_names: Mapping[str, str]  # album id -> name
    asset_rules: Mapping[str, str]  # asset id -> matched rules (comma-separated), if any
    # asset id -> the rule and family of its date change, as the dry run groups them (date_change_groups)
    date_groups: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PlanItem:
    key: str  # the change's idem_key
    kind: str
    target: str
    asset_id: str | None
    change: str  # the change in words, names not ids
    reason: str | None
    # A review marker's asset: the competing proposals a person may choose from (idem_key, kind, target,
    # label such as "folder says album '2012-06-04 Camping'"), autotag.proposals
    choices: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class PlanGroup:
    id: str
    feature: str
    name: str
    items: list[PlanItem] = field(default_factory=list)

    @property
    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.kind] = out.get(item.kind, 0) + 1
        return out


def date_group_names(date_changes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``ClassifyResult.date_changes`` (rule, family, changes) as asset id -> group name, worded as the dry
    run words them (``rule (family)``, or the rule alone when they are one)."""
    names: dict[str, str] = {}
    for g in date_changes:
        rule, family = str(g.get("rule", "")), str(g.get("family", ""))
        label = rule if rule == family or not family else f"{rule} ({family})"
        for change in g.get("changes", []):
            names[str(change.get("asset_id"))] = label
    return names


def load_labels(
    conn: Connection,
    cfg: AutotagConfig,
    rows: Sequence[PlanRow],
    marker_tags: Iterable[str] = (),
    date_changes: Iterable[Mapping[str, Any]] = (),
) -> Labels:
    """``marker_tags``: every tag the tool sets only as a marker (``session.output_tags``); those not
    owned by a feature group with the classification markers, so a new marker needs no change here."""
    feature_tags = {cfg.duplicates.conflict_tag: "duplicates", cfg.album_dates.tag: "album dates"}
    markers = frozenset({cfg.markers.unclassified, cfg.markers.conflict, *marker_tags} - set(feature_tags))
    album_names = {str(i): str(n) for i, n in conn.execute(text("SELECT id, name FROM albums"))}
    # The rules behind a marker change, from the matches (an asset getting the unclassified marker
    # matched none). One pass over the matches: filtering them by asset in SQL made SQLite recompute the
    # union per query.
    wanted = {
        r.asset_id
        for r in rows
        if r.asset_id and r.target in markers and not (r.kind == "tag_add" and r.target == cfg.markers.unclassified)
    }
    found: dict[str, set[str]] = {}
    if wanted:
        for asset_id, rule in conn.execute(text("SELECT asset_id, rule FROM rule_matches_all")):
            if asset_id in wanted:
                found.setdefault(str(asset_id), set()).add(str(rule))
    asset_rules = {a: ",".join(sorted(rs)) for a, rs in found.items()}
    return Labels(markers, feature_tags, album_names, asset_rules, date_group_names(date_changes))


def album_label(target: str, names: Mapping[str, str]) -> str:
    if target.startswith(NEW_ALBUM_PREFIX):
        return f'new album "{target[len(NEW_ALBUM_PREFIX):]}"'
    return f'album "{names.get(target, target)}"'


def _date_text(value: Any) -> str:
    """``{"dateTimeOriginal": "2017-01-02T12:00:00+00:00", "timeZone": ...}`` -> ``2017-01-02 12:00:00 +00:00``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    if not isinstance(value, dict):
        return "none" if value is None else str(value)
    raw = value.get("dateTimeOriginal")
    shown = "none" if raw is None else str(raw).replace("T", " ")
    m = re.match(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", shown)
    if m:
        shown = m.group(1) + (f" {m.group(2)}" if m.group(2) else "")
    zone = value.get("timeZone")
    return f"{shown} ({zone})" if zone else shown


def describe(row: PlanRow, labels: Labels) -> str:
    """One change in words: ``add tag X``, ``add to album "Y"``, ``date A -> B``."""
    verb = row.kind.rsplit("_", 1)[-1]
    if row.kind in ("tag_add", "tag_remove"):
        return f"{verb} tag {row.target}"
    if row.kind == "album_add":
        return f"add to {album_label(row.target, labels.album_names)}"
    if row.kind == "album_remove":
        return f"remove from {album_label(row.target, labels.album_names)}"
    if row.kind == "set_date":
        return f"date {_date_text(row.before)} -> {_date_text(row.payload)}"
    return f"{row.kind} {labels.album_names.get(row.target, row.target)}"


def date_family(reason: str | None) -> str:
    m = _FAMILY.search(reason or "")
    if not m:
        return "dates"
    words = m.group(1).split()
    # A value ends the family: "the duplicate VID_2010..." -> "the duplicate"
    kept = [w for w in words if w.islower()] if words else []
    return "from " + " ".join(kept) if kept else "dates"


def group_key(row: PlanRow, labels: Labels) -> tuple[str, str]:
    """(feature, group name) of one change."""
    kind, target = row.kind, row.target
    if kind in ("tag_add", "tag_remove"):
        verb = _VERBS[kind.rsplit("_", 1)[-1]]
        if target in labels.markers:
            rules = labels.asset_rules.get(row.asset_id or "")
            by = f" (rules {rules})" if rules and "," in rules else (f" (rule {rules})" if rules else "")
            return "markers", f"{verb} {target}{by}"
        if target in labels.feature_tags:
            return labels.feature_tags[target], f"{verb} {target}"
        return "tags", f"{verb} tag {target}"
    if kind in ("album_add", "album_remove"):
        where = "to" if kind == "album_add" else "from"
        return "albums", f"{kind.split('_')[1]} {where} {album_label(target, labels.album_names)}"
    if kind == "set_date":
        return "dates", labels.date_groups.get(row.asset_id or "") or date_family(row.reason)
    return kind, target


def group_id(feature: str, name: str) -> str:
    return hashlib.sha1(f"{feature}\0{name}".encode()).hexdigest()[:12]


def group_plan(rows: Iterable[PlanRow], labels: Labels) -> list[PlanGroup]:
    """Every row in exactly one group; groups in feature order, then largest first, then by name."""
    groups: dict[tuple[str, str], PlanGroup] = {}
    for row in rows:
        feature, name = group_key(row, labels)
        group = groups.get((feature, name))
        if group is None:
            group = groups[(feature, name)] = PlanGroup(group_id(feature, name), feature, name)
        group.items.append(
            PlanItem(row.idem_key, row.kind, row.target, row.asset_id, describe(row, labels), row.reason)
        )

    def order(g: PlanGroup) -> tuple[int, int, str]:
        rank = FEATURE_ORDER.index(g.feature) if g.feature in FEATURE_ORDER else len(FEATURE_ORDER)
        return rank, -len(g.items), g.name

    return sorted(groups.values(), key=order)


@dataclass(frozen=True)
class AssetInfo:
    asset_id: str
    file_name: str | None
    taken: str | None  # the wall-clock date and time Immich shows
    type: str | None


def asset_info(conn: Connection, ids: Sequence[str]) -> dict[str, AssetInfo]:
    """File name, date and type of a page of assets (one query per 500)."""
    found: dict[str, AssetInfo] = {}
    unique = sorted({i for i in ids if i})
    for i in range(0, len(unique), 500):
        chunk = unique[i : i + 500]
        marks = ", ".join(f":a{j}" for j in range(len(chunk)))
        for row in conn.execute(
            text(
                "SELECT id, original_file_name, coalesce(local_date_time, file_created_at), type FROM assets "
                f"WHERE id IN ({marks})"
            ),
            {f"a{j}": a for j, a in enumerate(chunk)},
        ):
            taken = str(row[2])[:19].replace("T", " ") if row[2] else None
            found[str(row[0])] = AssetInfo(str(row[0]), row[1], taken, row[3])
    return found
