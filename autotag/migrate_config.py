"""Carry an immich-autotag config over to ours (``autotag init --from-immich-autotag PATH``).

immich-autotag (the older tool this one replaces) keeps its settings in a YAML file
(``~/.config/immich_autotag/config.yaml``) or in Python. Its YAML has had two shapes, both read here:

- the current one: ``server``, ``classification: {rules, autotag_unknown, autotag_conflict}``,
  ``duplicate_processing``, ``album_detection_from_folders``, ``conversions``, ``filters``;
- the earlier one: ``classification_rules``, ``auto_tags``, ``features: {date_correction, ...}``,
  ``filter_out_asset_links``.

Everything with an equivalent here is translated; every setting that has none is returned as a note
with the reason, so nothing is dropped silently. The Python form is refused: running another tool's code
to read its settings is not something a config converter should do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from immich_mirror.errors import ConfigError
from immich_mirror.urls import normalize_server_url

# What the older tool's template ships in place of a real value: never worth carrying over.
_PLACEHOLDER = re.compile(r"^<.*>$|YOUR_|example\.com", re.IGNORECASE)

# The older tool's folder detection skips paths matching these; ours has one path regex per rule.
_FOLDER_REGEX = r"/(?P<folder>\d{4}-\d{2}-\d{2} [^/]+)/[^/]+$"


@dataclass
class Migration:
    """The new config as a mapping (validated by the caller) and what could not be carried over."""

    config: dict[str, Any] = field(default_factory=dict)
    carried: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)


def read_old_config(path: Path) -> Mapping[str, Any]:
    """The older tool's YAML config as a mapping, or a one-line ConfigError naming the file."""
    if path.suffix == ".py":
        raise ConfigError(
            f"{path}: a Python config is not read (it would mean running its code): "
            "write it as YAML in immich-autotag first (user_config.yaml), then rerun"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found (immich-autotag keeps it in ~/.config/immich_autotag/)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; name the config.yaml inside it") from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a readable YAML file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not an immich-autotag config (expected a mapping of keys)")
    known = {"server", "classification", "classification_rules", "auto_tags", "features"}
    if not known & set(data):
        raise ConfigError(f"{path}: not an immich-autotag config (none of the keys {', '.join(sorted(known))})")
    return data


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v is not None]


def _real(value: Any) -> bool:
    return isinstance(value, str | int) and bool(str(value).strip()) and not _PLACEHOLDER.search(str(value))


def _server(old: Mapping[str, Any], m: Migration) -> None:
    server = old.get("server")
    if not isinstance(server, Mapping):
        return
    host, port = server.get("host"), server.get("port")
    immich: dict[str, Any] = {}
    if _real(host):
        text = str(host).strip()
        if "://" not in text:
            text = ("https://" if server.get("use_ssl") else "http://") + text
        if port and not re.search(r":\d+$", text.split("://", 1)[1].split("/", 1)[0]):
            text = f"{text}:{port}"
        try:
            immich["url"] = normalize_server_url(text)
            m.carried.append(f"server -> immich.url ({immich['url']})")
        except ConfigError as exc:
            m.not_carried.append(f"server.host: {exc.message}")
    if _real(server.get("api_key")):
        # The key stays in the same kind of place it was (a config file only its owner reads);
        # the file is written with mode 600 and the key is never printed.
        immich["api_key"] = str(server["api_key"]).strip()
        m.carried.append("server.api_key -> immich.api_key (consider $IMMICH_API_KEY instead)")
    if immich:
        m.config["immich"] = immich


def _rule_name(tags: list[str], albums: list[str], used: set[str], index: int) -> str:
    if albums and not tags:
        base = "event_album"
    elif tags:
        base = re.sub(r"^autotag_input_", "", tags[-1])
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("_") or f"rule_{index}"
    else:
        base = f"rule_{index}"
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name


def _anchored(pattern: str) -> str:
    # The older tool used re.match (anchored at the start); ours uses re.search.
    return pattern if pattern.startswith("^") else f"^(?:{pattern})"


def _rules(old: Mapping[str, Any], m: Migration) -> None:
    classification = old.get("classification")
    raw_rules: Any = None
    if isinstance(classification, Mapping):
        raw_rules = classification.get("rules")
    if raw_rules is None:
        raw_rules = old.get("classification_rules")
    if not isinstance(raw_rules, list):
        return
    rules: list[dict[str, Any]] = []
    used: set[str] = set()
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, Mapping):
            m.not_carried.append(f"classification rule {i}: not a mapping")
            continue
        tags = _list(raw.get("tag_names"))
        albums = [_anchored(p) for p in _list(raw.get("album_name_patterns"))]
        if raw.get("type") in ("tag", "album"):  # the earliest template: {type, patterns, labels}
            globbed = [p.replace("*", "") for p in _list(raw.get("patterns"))]
            if raw["type"] == "tag":
                m.not_carried.append(
                    f"classification rule {i}: tag patterns with wildcards ({', '.join(_list(raw.get('patterns')))}):"
                    " rules here name exact tag values; list them under rules[].tags"
                )
                continue
            albums = [f"^{re.escape(p)}" for p in globbed]
        if _list(raw.get("asset_links")):
            m.not_carried.append(
                f"classification rule {i}: asset_links: a rule here cannot name single photos; "
                "put them in an album the rule counts, or tag them"
            )
        if not tags and not albums:
            continue
        rule: dict[str, Any] = {"name": _rule_name(tags, albums, used, i)}
        if albums:
            rule["album_name_regex"] = albums
        if tags:
            rule["tags"] = tags
        rules.append(rule)
    if rules:
        m.config["rules"] = rules
        m.carried.append(
            f"{len(rules)} classification rule(s) -> rules (tags match by full value here: "
            "a nested tag such as 'x/meme' no longer matches 'meme')"
        )


def _markers(old: Mapping[str, Any], m: Migration) -> None:
    classification = old.get("classification")
    auto = old.get("auto_tags")
    cls = classification if isinstance(classification, Mapping) else {}
    at = auto if isinstance(auto, Mapping) else {}
    unknown = cls.get("autotag_unknown") or at.get("category_unknown")
    conflict = cls.get("autotag_conflict") or at.get("category_conflict")
    markers: dict[str, str] = {}
    if unknown:
        markers["unclassified"] = str(unknown)
    if conflict:
        markers["conflict"] = str(conflict)
    if markers:
        m.config["markers"] = markers
        m.carried.append("output tags -> markers")
    if at.get("enabled") is False:
        m.not_carried.append("auto_tags.enabled: false: markers are what autotag does; run `classify --dry-run` only")


def _features(old: Mapping[str, Any], m: Migration) -> None:
    features = old.get("features") if isinstance(old.get("features"), Mapping) else {}
    dup = old.get("duplicate_processing") if isinstance(old.get("duplicate_processing"), Mapping) else {}
    auto = old.get("auto_tags") if isinstance(old.get("auto_tags"), Mapping) else {}
    assert isinstance(features, Mapping) and isinstance(dup, Mapping) and isinstance(auto, Mapping)

    conflict_tag = dup.get("autotag_classification_conflict") or auto.get("duplicate_asset_classification_conflict")
    if dup or conflict_tag:
        m.config["duplicates"] = {"enabled": True}
        if conflict_tag:
            m.config["duplicates"]["conflict_tag"] = str(conflict_tag)
        m.carried.append("duplicate processing -> duplicates (enabled)")
    for key in ("autotag_album_conflict", "duplicate_asset_album_conflict"):
        if dup.get(key) or auto.get(key):
            m.not_carried.append(f"{key}: one duplicate conflict tag here (duplicates.conflict_tag) covers albums too")
    for key in ("autotag_classification_conflict_prefix", "duplicate_asset_classification_conflict_prefix"):
        if dup.get(key) or auto.get(key):
            m.not_carried.append(f"{key}: no per-group conflict tags here; the reason in the dry run names the group")

    mismatch = dup.get("autotag_album_date_mismatch") or auto.get("album_date_mismatch")
    if mismatch:
        m.config["album_dates"] = {"enabled": True, "tag": str(mismatch)}
        m.carried.append("album date mismatch tag -> album_dates (enabled)")

    dates = dup.get("date_correction") or features.get("date_correction") or old.get("date_correction")
    if isinstance(dates, Mapping):
        cfg: dict[str, Any] = {"enabled": bool(dates.get("enabled"))}
        zone = dates.get("extraction_timezone")
        if zone and str(zone).upper() != "UTC":
            cfg["default_time_zone"] = str(zone)
        m.config["dates"] = cfg
        m.carried.append("date_correction -> dates" + (" (enabled)" if cfg["enabled"] else ""))

    folders = old.get("album_detection_from_folders") or features.get("album_detection_from_folders")
    if isinstance(folders, Mapping):
        rule: dict[str, Any] = {"path_regex": _FOLDER_REGEX, "album": "{folder}", "external_only": True}
        excluded = _list(folders.get("excluded_paths"))
        if excluded:
            # Skipped paths become a case-insensitive negative lookahead on the whole path.
            alternatives = "|".join(excluded)
            rule["path_regex"] = f"^(?!(?i:.*(?:{alternatives}))).*{_FOLDER_REGEX}"
        m.config["folder_albums"] = {"enabled": bool(folders.get("enabled")), "rules": [rule]}
        m.carried.append(
            "album_detection_from_folders -> folder_albums (folders named 'YYYY-MM-DD name' in external libraries)"
        )

    for key, why in (
        ("enable_album_name_strip", "album names are used as Immich stores them"),
        ("enable_checkpoint_resume", "not needed: every run resumes from the mirror and the outbox"),
        ("create_album_from_date_if_missing", "no albums named after a bare date; folder_albums and tag_albums create"),
        ("performance", "no runtime type checking to switch off"),
        ("enable_album_detection", "album detection is folder_albums here"),
        ("enable_tag_suggestion", "no tag suggestions here"),
        ("advanced_feature", "an unused setting of the older template"),
    ):
        if key in old or key in features:
            m.not_carried.append(f"{key}: {why}")


def _conversions(old: Mapping[str, Any], m: Migration) -> None:
    conversions = old.get("conversions")
    if not isinstance(conversions, list):
        return
    tag_albums: list[dict[str, str]] = []
    for i, conv in enumerate(conversions):
        if not isinstance(conv, Mapping):
            continue
        src, dst = conv.get("source") or {}, conv.get("destination") or {}
        s_tags, d_tags = _list(src.get("tag_names")), _list(dst.get("tag_names"))
        d_albums = _list(dst.get("album_name_patterns"))
        if len(s_tags) == 1 and len(d_albums) == 1 and re.fullmatch(r"[^\\^$*+?()\[\]{}|]+", d_albums[0]):
            tag_albums.append({"tag": s_tags[0], "album": d_albums[0], "direction": "to_album"})
            continue
        what = f"{', '.join(s_tags) or '?'} -> {', '.join(d_tags or d_albums) or '?'}"
        m.not_carried.append(
            f"conversions[{i}] ({what}): autotag never renames tags; a rule that lists both tags keeps "
            "assets with either classified"
        )
    if tag_albums:
        m.config["tag_albums"] = {"enabled": True, "rules": tag_albums}
        m.carried.append(f"{len(tag_albums)} tag-to-album conversion(s) -> tag_albums")


def _filters(old: Mapping[str, Any], m: Migration) -> None:
    exclude = _list(old.get("filter_out_asset_links"))
    only: list[str] = []
    filters = old.get("filters")
    if isinstance(filters, Mapping):
        for key, target in (("filter_out", exclude), ("filter_in", only)):
            for i, rule in enumerate(filters.get(key) or []):
                if not isinstance(rule, Mapping):
                    continue
                target.extend(_list(rule.get("asset_links")))
                target.extend(f"/tags?path={t}" for t in _list(rule.get("tag_names")))
                if _list(rule.get("album_name_patterns")):
                    m.not_carried.append(
                        f"filters.{key}[{i}].album_name_patterns: exclude/only take album links, not name "
                        "patterns; paste each album's link"
                    )
    if exclude:
        m.config["exclude"] = exclude
        m.carried.append(f"{len(exclude)} filter-out link(s) -> exclude")
    if only:
        m.config["only"] = only
        m.carried.append(f"{len(only)} filter-in link(s) -> only")


def migrate(old: Mapping[str, Any]) -> Migration:
    """Translate an immich-autotag config; the caller validates ``config`` and writes it."""
    m = Migration()
    _server(old, m)
    _rules(old, m)
    _markers(old, m)
    _features(old, m)
    _conversions(old, m)
    _filters(old, m)
    return m


def render(m: Migration, source: Path) -> str:
    """The new config file: a header naming where it came from and what was left behind, then YAML."""
    lines = [
        f"# autotag configuration, carried over from immich-autotag's {source}",
        "# by `autotag init --from-immich-autotag`. Reference: docs/rules.md. Values not listed are defaults.",
    ]
    if m.not_carried:
        lines.append("# Not carried over:")
        lines.extend(f"#   - {note}" for note in m.not_carried)
    body = yaml.safe_dump(m.config, sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(lines) + "\n\n" + body
