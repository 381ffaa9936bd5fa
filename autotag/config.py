"""The autotag config file: one YAML document, validated as a whole by the pydantic models below.

Sections: ``immich:`` and ``db:`` (the connection, owned by ``immich_mirror.config``), ``scope:``,
``rules:``, ``markers:``, ``exclude:``/``only:`` (links resolved elsewhere), ``push:``, and one section
per later feature (``duplicates:``, ``dates:``, ...). Every model forbids unknown keys, so a typo is an
error naming the key instead of a setting silently ignored.

Precedence, lowest first: the file < environment variables < the ``--db`` flag. Errors are one line:
``<file>: <dotted key>: <what is wrong>``; a problem inside a rule is a ``RuleError`` naming the rule
(``rules[2] (screenshots): ...``, counting from 0 like the YAML list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from immich_mirror.config import (
    ImmichSettings,
    apply_environment,
    config_path,
    db_path,
    describe_validation_error,
    load_yaml,
)
from immich_mirror.errors import ConfigError, RuleError

Visibility = Literal["timeline", "archive", "hidden", "locked"]

DEFAULT_VISIBILITY: tuple[Visibility, ...] = ("timeline", "archive")
DEFAULT_UNCLASSIFIED_MARKER = "autotag_output_unknown"
DEFAULT_CONFLICT_MARKER = "autotag_output_conflict"
DEFAULT_REVIEW_MARKER = "autotag_output_review"
# The features whose proposals (an album or a classifying tag for an unclassified asset) can compete.
PROPOSING_FEATURES = ("tag_albums", "duplicates", "folder_albums")
DEFAULT_EVENT_ALBUM_REGEX = r"^\d{4}-\d{2}(-\d{2})?"

# Rule names end up in comma-separated columns (classification.matched_rules) and in reasons, so they
# must not contain commas or spaces; this also keeps them easy to type in `autotag sql` queries.
RULE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleCriteria(_Strict):
    """What a rule matches: an asset matches if ANY of these criteria does (classification rules and
    smart albums share them, and one compiler: autotag.rules)."""

    album_name_regex: list[str] = Field(default_factory=list)
    album_ids: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    include_descendants: bool = False
    sql: str | None = None
    # People by name, exactly as named in Immich (hidden people count too), and "at least N people
    # recognised in the asset": both read the mirror's asset_people (sync/people.py).
    people: list[str] = Field(default_factory=list)
    min_faces: int | None = Field(default=None, ge=1)

    @field_validator("album_name_regex", "album_ids", "tags", "people", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # `tags: people` is what people write for a single value; accept it as a list of one.
        return [v] if isinstance(v, str) else v


class RuleConfig(RuleCriteria):
    """One classification rule: it matches an asset if ANY of its criteria does."""

    name: str
    # false: a compilation ("Best of 2023", "Portfolio"): classifies, never makes a conflict with others.
    exclusive: bool = True


class SmartAlbumConfig(RuleCriteria):
    """A smart album: the album named ``album``, created by the tool, holds exactly the in-scope assets
    its criteria match (added and removed). It does not classify (docs/rules.md, "Smart albums")."""

    album: str

    @field_validator("album")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("empty album name")
        return v


def default_rules() -> list[RuleConfig]:
    """The rules used when the config has no ``rules:`` key (``example-config.yaml`` spells them out)."""
    return [
        RuleConfig(name="event_album", album_name_regex=[DEFAULT_EVENT_ALBUM_REGEX]),
        RuleConfig(name="meme", tags=["autotag_input_meme"]),
        RuleConfig(name="adult_meme", tags=["autotag_input_adult_meme"]),
        RuleConfig(name="pending_review", tags=["autotag_input_pending_review"]),
        RuleConfig(name="ignore", tags=["autotag_input_ignore"]),
    ]


class MarkersConfig(_Strict):
    """The tag values (full paths) the tool puts on assets users should look at."""

    unclassified: str = DEFAULT_UNCLASSIFIED_MARKER
    conflict: str = DEFAULT_CONFLICT_MARKER
    # An unclassified asset for which organiser features propose different classifications.
    review: str = DEFAULT_REVIEW_MARKER

    @field_validator("unclassified", "conflict", "review")
    @classmethod
    def _tag_value(cls, v: str) -> str:
        v = v.strip()
        if not v or v.startswith("/") or v.endswith("/") or "//" in v:
            raise ValueError("must be a tag value such as 'autotag_output_unknown' or 'autotag/unknown'")
        return v

    @model_validator(mode="after")
    def _distinct(self) -> MarkersConfig:
        if len({self.unclassified, self.conflict, self.review}) < 3:
            raise ValueError("the unclassified, conflict and review markers must be different tags")
        return self


class ScopeConfig(_Strict):
    """Which of the key owner's assets the rules look at (trashed assets never are)."""

    visibility: list[Visibility] = Field(default_factory=lambda: list(DEFAULT_VISIBILITY))

    @field_validator("visibility")
    @classmethod
    def _not_empty(cls, v: list[Visibility]) -> list[Visibility]:
        if not v:
            raise ValueError("list at least one visibility (timeline, archive, hidden, locked)")
        return v


class PushConfig(_Strict):
    """How the pusher paces and checks its writes (Immich applies some of them asynchronously)."""

    settle_seconds_per_asset: float = Field(default=0.05, ge=0)
    settle_max_seconds: float = Field(default=120, ge=0)
    verify_rounds: int = Field(default=3, ge=0)
    chunk_size: int = Field(default=1000, ge=1, le=10000)


class FeatureConfig(_Strict):
    """A feature that is off unless enabled; each feature's own options are added with the feature."""

    enabled: bool = False


def _tag_value(v: str) -> str:
    v = v.strip()
    if not v or v.startswith("/") or v.endswith("/") or "//" in v:
        raise ValueError("must be a tag value such as 'autotag_output_unknown' or 'autotag/unknown'")
    return v


def _regex(v: str, groups: tuple[str, ...] = ()) -> str:
    try:
        compiled = re.compile(v)
    except re.error as exc:
        raise ValueError(f"invalid regex {v!r}: {exc}") from None
    missing = [g for g in groups if g not in compiled.groupindex]
    if missing:
        raise ValueError(f"regex {v!r} needs the named group(s) {', '.join(missing)}, e.g. (?P<Y>\\d{{4}})")
    return v


class DuplicatesConfig(FeatureConfig):
    """Duplicate groups: classify unclassified members like their classified twins (docs/rules.md)."""

    conflict_tag: str = "autotag_output_duplicate_asset_classification_conflict"

    @field_validator("conflict_tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        return _tag_value(v)


class DatePattern(_Strict):
    """A regex with named groups Y, m, d (and optionally H, M, S) searched in the file name or path."""

    regex: str
    source: Literal["name", "path"] = "name"

    @field_validator("regex")
    @classmethod
    def _date_groups(cls, v: str) -> str:
        return _regex(v, ("Y", "m", "d"))


# The patterns earlier versions shipped as the default (and wrote into starter configs): the built-in
# parser reads all of them, better (Pixel names as UTC, 12-hour clocks), so a config that still lists
# exactly these gets the parser alone.
_EARLIER_DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    # IMG_20190412_153000.jpg, VID_20190412_153000.mp4, PANO_..., MVIMG_...
    ("name", r"^(?:IMG|VID|PANO|MVIMG)_(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"),
    # PXL_20210101_123456789.jpg (the last three digits are milliseconds)
    ("name", r"^PXL_(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"),
    # IMG-20200101-WA0001.jpg, VID-20200101-WA0001.mp4: WhatsApp, the day only
    ("name", r"^(?:IMG|VID|AUD|PTT)-(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})-WA\d+"),
    # Screenshot_2020-01-01-12-00-00.png (Android)
    ("name", r"^Screenshot_(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})-(?P<H>\d{2})-(?P<M>\d{2})-(?P<S>\d{2})"),
    # Screenshot 2020-01-01 at 12.00.00.png (macOS)
    ("name", r"^Screen ?[Ss]hot (?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2}) at (?P<H>\d{1,2})\.(?P<M>\d{2})\.(?P<S>\d{2})"),
    # 2020-01-01 12.00.00.jpg (Dropbox camera uploads)
    ("name", r"^(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2}) (?P<H>\d{2})\.(?P<M>\d{2})\.(?P<S>\d{2})"),
    # 20200101_120000.jpg (Samsung and others)
    ("name", r"^(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"),
    # signal-2020-01-01-120000.jpg
    ("name", r"^signal-(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})-(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})"),
    # .../2019-06-01 Beach/DSC01234.JPG: a folder named after its day
    ("path", r"/(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[ _][^/]*)?/[^/]+$"),
)


def default_date_patterns() -> list[DatePattern]:
    """None: the built-in parser (autotag.dateparse) reads the common names; a user's patterns go first."""
    return []


class DatesConfig(FeatureConfig):
    """Date repair from file names, folders and duplicates (docs/rules.md, "Date repair")."""

    patterns: list[DatePattern] = Field(default_factory=default_date_patterns)
    # family -> false to leave that family's dates out (docs/rules.md lists the families)
    families: dict[str, bool] = Field(default_factory=dict)
    override_metadata: bool = False
    event_window_days: int = Field(default=14, ge=0)
    from_duplicates: bool = True
    min_date: str = "1990-01-01"
    ignore_dates: list[str] = Field(default_factory=lambda: ["1970-01-01", "2000-01-01"])
    min_difference_hours: float = Field(default=24, ge=0)
    date_only_time: str = "12:00:00"
    default_time_zone: str | None = None

    @field_validator("min_date")
    @classmethod
    def _day(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError("must be a day such as 1990-01-01")
        return v

    @field_validator("ignore_dates")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        return [cls._day(d) for d in v]

    @field_validator("patterns")
    @classmethod
    def _earlier_defaults(cls, v: list[DatePattern]) -> list[DatePattern]:
        return [] if [(p.source, p.regex) for p in v] == list(_EARLIER_DEFAULT_PATTERNS) else v

    @field_validator("families")
    @classmethod
    def _families(cls, v: dict[str, bool]) -> dict[str, bool]:
        from autotag.dateparse import FAMILIES

        known = (*FAMILIES, "duplicate")
        unknown = sorted(set(v) - set(known))
        if unknown:
            raise ValueError(f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                             f"known: {', '.join(known)}")
        return v

    @field_validator("date_only_time")
    @classmethod
    def _time(cls, v: str) -> str:
        if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", v):
            raise ValueError("must be a time such as 12:00:00")
        return v


class AlbumDatesConfig(FeatureConfig):
    """Assets far from the date their album's name starts with get a marker tag."""

    max_days: int = Field(default=180, ge=0)
    album_name_regex: str = r"^(?P<Y>\d{4})-(?P<m>\d{2})(?:-(?P<d>\d{2}))?"
    tag: str = "autotag_output_album_date_mismatch"

    @field_validator("tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        return _tag_value(v)

    @field_validator("album_name_regex")
    @classmethod
    def _album_regex(cls, v: str) -> str:
        return _regex(v, ("Y", "m"))


class FolderAlbumRule(_Strict):
    """Assets whose path matches ``path_regex`` go to the album named by ``album`` ({group} from the regex)."""

    path_regex: str
    album: str
    external_only: bool = True

    @model_validator(mode="after")
    def _template(self) -> FolderAlbumRule:
        _regex(self.path_regex)
        groups = set(re.compile(self.path_regex).groupindex)
        used = set(re.findall(r"\{(\w+)\}", self.album))
        if used - groups:
            raise ValueError(f"album {self.album!r} names group(s) the regex lacks: {', '.join(sorted(used - groups))}")
        if not self.album.strip():
            raise ValueError("album: empty album name")
        return self


def default_folder_rules() -> list[FolderAlbumRule]:
    return [FolderAlbumRule(path_regex=r"/(?P<folder>\d{4}-\d{2}-\d{2} [^/]+)/[^/]+$", album="{folder}")]


class FolderAlbumsConfig(FeatureConfig):
    """Albums from folders (external libraries): created when missing, assets added, never removed."""

    rules: list[FolderAlbumRule] = Field(default_factory=default_folder_rules)


class TagAlbumRule(_Strict):
    """``to_album``: assets with ``tag`` go into ``album``; ``to_tag``: assets in ``album`` get ``tag``."""

    tag: str
    album: str
    direction: Literal["to_album", "to_tag", "both"] = "both"

    @field_validator("tag")
    @classmethod
    def _tag(cls, v: str) -> str:
        return _tag_value(v)


class TagAlbumsConfig(FeatureConfig):
    rules: list[TagAlbumRule] = Field(default_factory=list)


class AutotagConfig(_Strict):
    """The whole config file. After ``load_config``, ``db`` is the resolved mirror path."""

    immich: ImmichSettings = Field(default_factory=ImmichSettings)
    db: str | None = None
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    rules: list[RuleConfig] = Field(default_factory=default_rules)
    markers: MarkersConfig = Field(default_factory=MarkersConfig)
    exclude: list[str] = Field(default_factory=list)
    only: list[str] = Field(default_factory=list)
    push: PushConfig = Field(default_factory=PushConfig)
    duplicates: DuplicatesConfig = Field(default_factory=DuplicatesConfig)
    dates: DatesConfig = Field(default_factory=DatesConfig)
    album_dates: AlbumDatesConfig = Field(default_factory=AlbumDatesConfig)
    folder_albums: FolderAlbumsConfig = Field(default_factory=FolderAlbumsConfig)
    tag_albums: TagAlbumsConfig = Field(default_factory=TagAlbumsConfig)
    smart_albums: list[SmartAlbumConfig] = Field(default_factory=list)
    # Which feature's proposal wins when features propose different classifications for one asset
    # (earlier wins; features not listed rank below every listed one and never settle a disagreement).
    precedence: list[Literal["tag_albums", "duplicates", "folder_albums"]] = Field(default_factory=list)

    @field_validator("precedence")
    @classmethod
    def _no_repeats(cls, v: list[str]) -> list[str]:
        if len(set(v)) < len(v):
            raise ValueError("lists a feature twice")
        return v

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, v: Any) -> Any:
        if v is None:  # `rules:` with nothing under it: the defaults, as if the key were absent
            return default_rules()
        if isinstance(v, list) and not v:
            # With no rule every asset would be marked unclassified: surely not what was meant.
            raise ValueError("is empty: remove the key to use the default rules, or list at least one rule")
        return v

    @property
    def db_path(self) -> Path:
        return db_path(None, {}, self.db)


def _rule_label(raw: Mapping[str, Any], index: int) -> str:
    rules = raw.get("rules")
    name = None
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        name = rules[index].get("name")
    return f"rules[{index}] ({name})" if isinstance(name, str) else f"rules[{index}]"


_CRITERIA_KEYS = "album_name_regex, album_ids, tags, include_descendants, people, min_faces, sql"


def _smart_label(raw: Mapping[str, Any], index: int) -> str:
    entries = raw.get("smart_albums")
    name = None
    if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
        name = entries[index].get("album")
    return f"smart_albums[{index}] ({name})" if isinstance(name, str) and name.strip() else f"smart_albums[{index}]"


def _validation_error(path: Path, raw: Mapping[str, Any], exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    loc = first["loc"]
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        key = ".".join(str(p) for p in loc[2:])
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = f"unknown key (rule keys: name, {_CRITERIA_KEYS}, exclusive)"
        where = f"{key}: " if key else ""
        return RuleError(f"{path}: {_rule_label(raw, loc[1])}: {where}{msg}")
    if len(loc) >= 2 and loc[0] == "smart_albums" and isinstance(loc[1], int):
        key = ".".join(str(p) for p in loc[2:])
        msg = first["msg"]
        msg = msg.removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = f"unknown key (smart album keys: album, {_CRITERIA_KEYS})"
        where = f"{key}: " if key else ""
        return RuleError(f"{path}: {_smart_label(raw, loc[1])}: {where}{msg}")
    return ConfigError(describe_validation_error(path, exc))


def parse_config(raw: Mapping[str, Any], *, source: Path | str = "config") -> AutotagConfig:
    """Validate a parsed YAML document (models and rules); errors name ``source``."""
    try:
        cfg = AutotagConfig.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(Path(source), raw, exc) from None
    # Imported here: rules.py needs the models above, and checking rules belongs with compiling them.
    from autotag.rules import check_rules

    try:
        check_rules(cfg)
    except RuleError as exc:
        raise RuleError(f"{source}: {exc.message}") from None
    return cfg


def load_config(path: Path | None, *, env: Mapping[str, str], db_flag: str | None = None) -> AutotagConfig:
    """The config from ``path`` (or $AUTOTAG_CONFIG, or the default place), then environment, then flag.

    A file the user named must exist; the default file may be missing (all defaults then).
    """
    file, required = config_path(path, env)
    raw = load_yaml(file, required=required)
    cfg = parse_config(raw, source=file)
    return cfg.model_copy(
        update={
            "immich": apply_environment(cfg.immich, env),
            "db": str(db_path(db_flag, env, cfg.db)),
        }
    )


def starter_config_text() -> str:
    """A commented starter config (what ``autotag init`` writes): every default, spelled out."""
    return resources.files("autotag").joinpath("example-config.yaml").read_text(encoding="utf-8")
