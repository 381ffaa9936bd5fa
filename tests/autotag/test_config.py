from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from autotag.config import (
    AutotagConfig,
    RuleConfig,
    default_rules,
    load_config,
    parse_config,
    starter_config_text,
)
from immich_mirror.errors import ConfigError, RuleError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_default_file_gives_defaults(tmp_path: Path) -> None:
    env = {"AUTOTAG_DB": str(tmp_path / "m.db")}
    cfg = load_config(None, env=env)
    assert cfg.rules == default_rules()
    assert [r.name for r in cfg.rules] == ["event_album", "meme", "adult_meme", "pending_review", "ignore"]
    assert cfg.markers.unclassified == "autotag_output_unknown"
    assert cfg.markers.conflict == "autotag_output_conflict"
    assert cfg.scope.visibility == ["timeline", "archive"]
    assert cfg.db == str(tmp_path / "m.db")


def test_example_config_loads_and_equals_the_defaults(tmp_path: Path) -> None:
    example = write(tmp_path, starter_config_text())
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    env = {"AUTOTAG_DB": "/x/m.db"}
    assert load_config(example, env=env) == load_config(empty, env=env)
    packaged = Path(__file__).parents[2] / "autotag" / "example-config.yaml"
    assert packaged.read_text(encoding="utf-8") == starter_config_text()


def test_every_section_of_the_model_is_in_the_example() -> None:
    data = yaml.safe_load(starter_config_text())
    assert set(data) == set(AutotagConfig.model_fields)


def test_file_then_env_then_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "immich: {url: http://file:2283, api_key: filekey}\ndb: /from/file.db\n",
    )
    cfg = load_config(path, env={})
    assert cfg.immich.url == "http://file:2283"
    assert cfg.db == "/from/file.db"
    env = {"IMMICH_URL": "http://env:2283", "IMMICH_API_KEY": "envkey", "AUTOTAG_DB": "/from/env.db"}
    cfg = load_config(path, env=env)
    assert cfg.immich.url == "http://env:2283"
    assert cfg.immich.api_key is not None and cfg.immich.api_key.get_secret_value() == "envkey"
    assert cfg.db == "/from/env.db"
    assert load_config(path, env=env, db_flag="/from/flag.db").db == "/from/flag.db"


def test_config_path_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, "markers: {unclassified: todo/unknown}\n")
    cfg = load_config(None, env={"AUTOTAG_CONFIG": str(path), "AUTOTAG_DB": "/m.db"})
    assert cfg.markers.unclassified == "todo/unknown"
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(None, env={"AUTOTAG_CONFIG": str(tmp_path / "nope.yaml")})


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("scope: {visibilty: [timeline]}\n", r"config\.yaml: scope\.visibilty: unknown key"),
        ("scope: {visibility: [everywhere]}\n", r"config\.yaml: scope\.visibility\.0: Input should be"),
        ("markers: {unclassified: x, conflict: x}\n", r"config\.yaml: markers: .*must be different"),
        ("push: {chunk_size: 0}\n", r"config\.yaml: push\.chunk_size: Input should be greater"),
        ("rules: []\n", r"config\.yaml: rules: .*is empty"),
        ("bogus: 1\n", r"config\.yaml: bogus: unknown key"),
        ("dates: {enabled: yes, whatever: 1}\n", r"config\.yaml: dates\.whatever: unknown key"),
        ("exclude: nope\n", r"config\.yaml: exclude: Input should be a valid list"),
    ],
)
def test_config_errors_name_file_and_key(tmp_path: Path, text: str, pattern: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern) as info:
        load_config(path, env={})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("rules", "pattern"),
    [
        (
            "- {name: a, tags: [x]}\n- {name: b, tags: [y]}\n- {name: screenshots, album_name_regex: ['^(']}",
            r"rules\[2\] \(screenshots\): invalid regex '\^\(': missing \), unterminated subpattern "
            r"at position 1$",
        ),
        ("- {name: a, tagz: [x]}", r"rules\[0\] \(a\): tagz: unknown key"),
        ("- {tags: [x]}", r"rules\[0\]: name: Field required"),
        ("- {name: a}", r"rules\[0\] \(a\): matches nothing"),
        (
            "- {name: a, tags: [x]}\n- {name: a, tags: [y]}",
            r"rules\[1\] \(a\): name: already used by rules\[0\]",
        ),
        ("- {name: 'a b', tags: [x]}", r"rules\[0\] \(a b\): name: use letters"),
        ("- {name: a, tags: [autotag_output_unknown]}", r"rules\[0\] \(a\): tags: .*marker tag"),
        (
            "- {name: a, tags: [autotag], include_descendants: true}\n"
            "markers: {unclassified: autotag/unknown, conflict: autotag/conflict}",
            r"rules\[0\] \(a\): tags: 'autotag' would match the marker tag",
        ),
    ],
)
def test_bad_rules_are_one_line_rule_errors(tmp_path: Path, rules: str, pattern: str) -> None:
    text = "rules:\n" + "\n".join("  " + line if line.startswith("-") else line for line in rules.split("\n"))
    path = write(tmp_path, text + "\n")
    with pytest.raises(RuleError, match=pattern) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}: rules[")
    assert "\n" not in message


def test_single_values_are_lists_of_one() -> None:
    cfg = parse_config({"rules": [{"name": "people", "tags": "people", "album_name_regex": "^Trip"}]})
    assert cfg.rules == [RuleConfig(name="people", tags=["people"], album_name_regex=["^Trip"])]


def test_api_key_never_in_repr(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "immich: {api_key: s3cret}\n"), env={})
    assert "s3cret" not in repr(cfg)
