"""`autotag export-workflow`: the rules Immich's workflow engine can run, and the rest listed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from autotag.cli import main
from autotag.config import parse_config
from autotag.workflows import ADD_TO_ALBUMS, FILE_FILTER, export_workflows, js_regex

# WorkflowCreateDto of Immich v3 (server/src/dtos/workflow.dto.ts, zod schema `WorkflowCreateSchema`):
# trigger: string (required); name, description: string|null (optional); enabled: boolean (optional);
# steps: array of WorkflowStepDto {method: string, config: record|null, enabled?: boolean} (optional).
CREATE_DTO: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "trigger": (str, True),
    "name": ((str, type(None)), False),
    "description": ((str, type(None)), False),
    "enabled": (bool, False),
    "steps": (list, False),
}
STEP_DTO: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "method": (str, True),
    "config": ((dict, type(None)), True),
    "enabled": (bool, False),
}
# "pluginName[@version]#methodName", the reference format the server resolves (REF_REGEX in
# server/test/medium/specs/services/plugin-core.spec.ts).
METHOD_REF = re.compile(r"^(?P<name>[^@#\s]+)(?:@(?P<version>[^#\s]*))?#(?P<method>[^@#\s]+)$")


def _check(obj: dict[str, Any], schema: dict[str, tuple[type | tuple[type, ...], bool]]) -> None:
    assert set(obj) <= set(schema), f"unknown fields {set(obj) - set(schema)}"
    for key, (types, required) in schema.items():
        if required:
            assert key in obj, f"missing {key}"
        if key in obj:
            assert isinstance(obj[key], types), f"{key}: {type(obj[key]).__name__}"


def check_create_dto(body: dict[str, Any]) -> None:
    _check(body, CREATE_DTO)
    for step in body.get("steps", []):
        _check(step, STEP_DTO)
        assert METHOD_REF.match(step["method"]), step["method"]


def cfg(**sections: Any) -> Any:
    return parse_config(sections)


def test_fixed_folder_album_becomes_a_filter_and_an_add_to_album_step() -> None:
    c = cfg(folder_albums={"enabled": True, "rules": [
        {"path_regex": r"/Camera/(?P<y>\d{4})/", "album": "Camera roll", "external_only": False}]})
    result = export_workflows(c)
    assert len(result.workflows) == 1
    wf = result.workflows[0]
    check_create_dto(wf)
    assert wf["trigger"] == "AssetCreate" and "Camera roll" in wf["name"]
    assert wf["enabled"] is False and len(result.caveats) == 2  # checked by the user before it runs
    assert [s["method"] for s in wf["steps"]] == [FILE_FILTER, ADD_TO_ALBUMS]
    assert wf["steps"][0]["config"] == {
        "pattern": r"/Camera/(?<y>\d{4})/", "matchType": "regex", "caseSensitive": True, "usePath": True}
    assert wf["steps"][1]["config"] == {"albumIds": [], "albumName": "Camera roll"}
    assert not any(n.where.startswith("folder_albums") for n in result.not_expressible)


def test_external_only_is_exported_with_a_note() -> None:
    c = cfg(folder_albums={"enabled": True, "rules": [{"path_regex": "/Scans/", "album": "Scans"}]})
    result = export_workflows(c)
    assert len(result.workflows) == 1
    notes = [str(n) for n in result.not_expressible if n.where.startswith("folder_albums")]
    assert len(notes) == 1 and "external_only" in notes[0] and "uploads" in notes[0]


def test_templated_folder_album_is_listed_not_exported() -> None:
    c = cfg(folder_albums={"enabled": True})  # the default rule: album "{folder}"
    result = export_workflows(c)
    assert result.workflows == [] and result.caveats == ()
    [note] = [n for n in result.not_expressible if n.where.startswith("folder_albums")]
    assert "{group}" in note.reason and "one fixed album" in note.reason


def test_python_only_regex_is_listed_not_exported() -> None:
    c = cfg(folder_albums={"enabled": True, "rules": [
        {"path_regex": r"/(?P<a>x)(?P=a)/", "album": "Twice", "external_only": False}]})
    result = export_workflows(c)
    assert result.workflows == []
    assert any("Python-only" in n.reason for n in result.not_expressible)


def test_disabled_folder_albums_export_nothing() -> None:
    c = cfg(folder_albums={"enabled": False, "rules": [{"path_regex": "/x/", "album": "X"}]})
    assert export_workflows(c).workflows == []


def test_every_classification_rule_is_listed_with_its_reason() -> None:
    result = export_workflows(cfg())
    rule_notes = [n for n in result.not_expressible if n.where.startswith("rules[")]
    assert [n.where for n in rule_notes] == [
        "rules[0] event_album", "rules[1] meme", "rules[2] adult_meme", "rules[3] pending_review", "rules[4] ignore"]
    assert all("whole library" in n.reason and "one new upload" in n.reason for n in rule_notes)


def test_tag_album_directions_are_listed() -> None:
    c = cfg(tag_albums={"enabled": True, "rules": [
        {"tag": "beach", "album": "Beach", "direction": "to_album"},
        {"tag": "trip", "album": "Trip", "direction": "to_tag"},
        {"tag": "cat", "album": "Cats"},
    ]})
    wheres = [n.where for n in export_workflows(c).not_expressible if n.where.startswith("tag_albums")]
    assert wheres == [
        "tag_albums.rules[0] (beach -> Beach) to_album",
        "tag_albums.rules[1] (trip -> Trip) to_tag",
        "tag_albums.rules[2] (cat -> Cats) to_album",
        "tag_albums.rules[2] (cat -> Cats) to_tag",
    ]


def test_enabled_library_wide_features_are_listed_and_disabled_ones_are_not() -> None:
    off = {n.where for n in export_workflows(cfg()).not_expressible}
    assert not off & {"duplicates", "dates", "album_dates"}
    on = export_workflows(cfg(duplicates={"enabled": True}, dates={"enabled": True}, album_dates={"enabled": True}))
    reasons = {n.where: n.reason for n in on.not_expressible}
    assert "one asset" in reasons["duplicates"]
    assert "changes dates" in reasons["dates"]
    assert "no album filter" in reasons["album_dates"]


def test_js_regex() -> None:
    assert js_regex(r"/(?P<folder>\d{4})/") == r"/(?<folder>\d{4})/"
    assert js_regex(r"\Afoo") is None


@pytest.fixture(autouse=True)
def _isolated(isolated: Path) -> Path:  # tests/autotag/conftest.py
    return isolated


CONFIG = """\
folder_albums:
  enabled: true
  rules:
  - {path_regex: '/Scans/(?P<year>\\d{4})/', album: Scans, external_only: false}
  - {path_regex: '/(?P<folder>[^/]+)/[^/]+$', album: '{folder}'}
"""


def test_cli_writes_valid_json_to_stdout_and_notes_to_stderr(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "c.yaml").write_text(CONFIG)
    code = main(["--config", str(isolated / "c.yaml"), "export-workflow"])
    out, err = capsys.readouterr()
    assert code == 0, err
    workflows = json.loads(out)
    assert isinstance(workflows, list) and len(workflows) == 1
    for wf in workflows:
        check_create_dto(wf)
    assert "not expressible: folder_albums.rules[1] ({folder})" in err
    assert "not expressible: rules[0] event_album" in err
    assert "check: exported disabled" in err


def test_cli_out_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "c.yaml").write_text(CONFIG)
    target = isolated / "wf.json"
    code = main(["--config", str(isolated / "c.yaml"), "export-workflow", "--out", str(target)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == ""
    [wf] = json.loads(target.read_text())
    check_create_dto(wf)
    assert f"wrote 1 workflow(s) to {target}" in err


def test_smart_albums_are_listed_not_exported() -> None:
    c = cfg(smart_albums=[{"album": "Family", "people": ["Alice"]}])
    export = export_workflows(c)
    assert export.workflows == []
    reasons = {n.where: n.reason for n in export.not_expressible}
    assert "also removes photos" in reasons["smart_albums[0] (Family)"]
