"""`autotag init --from-immich-autotag`: the older tool's config carried over, the rest listed."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from autotag.cli import main
from autotag.config import load_config
from autotag.migrate_config import migrate

# The shape of immich-autotag's current YAML template (values changed to a realistic user's).
CURRENT = """\
server:
  host: "photos.home.lan"
  port: 2283
  api_key: "old-tool-key-0123456789"
enable_album_name_strip: true
enable_checkpoint_resume: true
filters:
  filter_out:
  - asset_links:
    - https://photos.home.lan/photos/5b2c1d3e-0000-4000-8000-000000000001
    tag_names: [private]
  filter_in: []
conversions:
- source: {tag_names: [meme]}
  destination: {tag_names: [autotag_input_meme]}
- source: {tag_names: [beach]}
  destination: {album_name_patterns: [Beach days]}
classification:
  rules:
  - tag_names: [meme, autotag_input_meme]
  - tag_names: [autotag_input_ignore]
  - album_name_patterns: ['\\d{4}-(\\d{2}(-\\d{2})?)?']
    asset_links: [https://photos.home.lan/photos/5b2c1d3e-0000-4000-8000-000000000002]
  autotag_unknown: old_unknown
  autotag_conflict: old_conflict
duplicate_processing:
  autotag_album_date_mismatch: old_album_date_mismatch
  autotag_album_conflict: old_dup_album_conflict
  autotag_classification_conflict: old_dup_conflict
  autotag_classification_conflict_prefix: old_dup_conflict_
  date_correction:
    enabled: true
    extraction_timezone: Europe/Madrid
album_detection_from_folders:
  enabled: true
  excluded_paths: [whatsapp]
create_album_from_date_if_missing: true
"""

# The earlier shape: classification_rules, auto_tags and features.
EARLIER = """\
server: {host: "<YOUR_HOST_OR_IP_HERE>", port: 2283, api_key: "<YOUR_API_KEY_HERE>"}
filter_out_asset_links: []
classification_rules:
- tag_names: [autotag_input_meme]
- album_name_patterns: ['^\\d{4}-']
auto_tags:
  enabled: true
  category_unknown: autotag_output_unknown
  category_conflict: autotag_output_conflict
  duplicate_asset_album_conflict: autotag_output_duplicate_asset_album_conflict
  duplicate_asset_classification_conflict: autotag_output_duplicate_asset_classification_conflict
  duplicate_asset_classification_conflict_prefix: autotag_output_duplicate_asset_classification_conflict_
features:
  enable_album_detection: true
  enable_tag_suggestion: false
  enable_album_name_strip: true
  album_detection_from_folders: {enabled: false, excluded_paths: []}
  date_correction: {enabled: false, extraction_timezone: UTC}
  enable_checkpoint_resume: false
"""


# `isolated` (tests/autotag/conftest.py): no environment of the developer leaks in.
pytestmark = pytest.mark.usefixtures("isolated")


def _init(tmp: Path, text: str, capsys: pytest.CaptureFixture[str], name: str = "old.yaml") -> tuple[int, str, str]:
    old = tmp / name
    old.write_text(text)
    code = main(["--config", str(tmp / "new.yaml"), "init", "--from-immich-autotag", str(old)])
    out, err = capsys.readouterr()
    return code, out, err


def test_current_shape_carries_everything_with_an_equivalent(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _init(isolated, CURRENT, capsys)
    assert code == 0, err
    new = isolated / "new.yaml"
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o600
    cfg = load_config(new, env={})
    assert cfg.immich.url == "http://photos.home.lan:2283"
    assert cfg.immich.api_key is not None and cfg.immich.api_key.get_secret_value() == "old-tool-key-0123456789"
    assert "old-tool-key-0123456789" not in out + err  # written to the private file, never printed
    assert [r.name for r in cfg.rules] == ["meme", "ignore", "event_album"]
    assert cfg.rules[0].tags == ["meme", "autotag_input_meme"]
    assert (cfg.markers.unclassified, cfg.markers.conflict) == ("old_unknown", "old_conflict")
    assert cfg.duplicates.enabled and cfg.duplicates.conflict_tag == "old_dup_conflict"
    assert cfg.album_dates.enabled and cfg.album_dates.tag == "old_album_date_mismatch"
    assert cfg.dates.enabled and cfg.dates.default_time_zone == "Europe/Madrid"
    assert cfg.folder_albums.enabled
    assert [(r.tag, r.album, r.direction) for r in cfg.tag_albums.rules] == [("beach", "Beach days", "to_album")]
    assert cfg.exclude == [
        "https://photos.home.lan/photos/5b2c1d3e-0000-4000-8000-000000000001",
        "/tags?path=private",
    ]
    # What has no equivalent is said, each with its reason, on screen and in the file.
    text = new.read_text()
    for key in ("asset_links", "conversions[0]", "autotag_album_conflict", "prefix", "enable_album_name_strip",
                "create_album_from_date_if_missing", "enable_checkpoint_resume"):
        assert key in out, key
        assert key in text, key


def test_album_patterns_keep_the_old_anchoring_and_folder_exclusions(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init(isolated, CURRENT, capsys)[0] == 0
    cfg = load_config(isolated / "new.yaml", env={})
    (pattern,) = cfg.rules[2].album_name_regex
    # The older tool used re.match; a name with the date in the middle did not count there either.
    assert re.search(pattern, "2023-05-12 Beach")
    assert not re.search(pattern, "Trip 2023-05-12")
    folder = re.compile(cfg.folder_albums.rules[0].path_regex)
    assert folder.search("/mnt/photos/2019-06-01 Beach/DSC01.JPG")
    assert not folder.search("/mnt/WhatsApp/2019-06-01 Beach/IMG-1.jpg")


def test_earlier_shape_and_placeholders(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _init(isolated, EARLIER, capsys)
    assert code == 0, err
    cfg = load_config(isolated / "new.yaml", env={})
    assert cfg.immich.url is None and cfg.immich.api_key is None  # template placeholders are not carried
    assert [r.name for r in cfg.rules] == ["meme", "event_album"]
    assert cfg.duplicates.enabled and not cfg.dates.enabled and not cfg.folder_albums.enabled
    assert "enable_tag_suggestion" in out


def test_refusals_are_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _init(isolated, "user_config = None\n", capsys, name="user_config.py")
    assert code == 2 and "Python config is not read" in err and len(err.strip().splitlines()) == 1
    code, _, err = _init(isolated, "colour: blue\n", capsys)
    assert code == 2 and "not an immich-autotag config" in err
    code, _, err = _init(isolated, "server: [\n", capsys)
    assert code == 2 and "not a readable YAML" in err
    assert not (isolated / "new.yaml").exists()


def test_migrate_is_pure_and_lists_unknown_rule_shapes() -> None:
    m = migrate({"classification_rules": [{"asset_links": ["x"]}, "junk"]})
    assert "rules" not in m.config
    assert any("asset_links" in n for n in m.not_carried) and any("not a mapping" in n for n in m.not_carried)
