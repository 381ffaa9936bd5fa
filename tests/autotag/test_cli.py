"""The CLI's promises that need no server: one-line errors, init, sql, exit codes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autotag.cli import main
from autotag.config import load_config
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server

# `isolated` (tests/autotag/conftest.py): no environment of the developer leaks in.
pytestmark = pytest.mark.usefixtures("isolated")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def run_against(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated: Path, key: str, *argv: str,
    url: str = NOWHERE,
) -> tuple[int, str, str]:
    """``autotag --db <isolated>/m.db <argv>`` with IMMICH_URL and IMMICH_API_KEY set to ``url`` and ``key``."""
    monkeypatch.setenv("IMMICH_URL", url)
    monkeypatch.setenv("IMMICH_API_KEY", key)
    return run(capsys, "--db", str(isolated / "m.db"), *argv)


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_invalid_yaml_is_one_line_naming_the_file(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("immich:\n  url: [unclosed\n")
    code, _, err = run(capsys, "--config", str(cfg), "status")
    line = one_line_error(err)
    assert code == 2 and str(cfg) in line and "invalid YAML" in line


def test_unknown_key_and_wrong_type_name_the_key(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("immich:\n  urll: http://x\n")
    code, _, err = run(capsys, "--config", str(cfg), "status")
    assert code == 2 and "immich.urll" in one_line_error(err)
    cfg.write_text("immich:\n  timeout: soon\n")
    code, _, err = run(capsys, "--config", str(cfg), "status")
    assert code == 2 and "immich.timeout" in one_line_error(err)


def test_missing_named_config_says_how_to_create_one(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", str(isolated / "nope.yaml"), "status")
    assert code == 2 and "autotag init" in one_line_error(err)


def test_bad_regex_names_the_rule(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("rules:\n  - name: broken\n    album_name_regex: ['^(']\n")
    code, _, err = run(capsys, "--config", str(cfg), "--db", str(isolated / "m.db"), "classify", "--dry-run")
    line = one_line_error(err)
    assert code == 2 and "broken" in line


def test_init_writes_private_config_and_refuses_to_overwrite(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = isolated / "new" / "config.yaml"
    code, _, _ = run(capsys, "--config", str(cfg), "init")
    assert code == 0 and cfg.exists()
    assert stat.S_IMODE(os.stat(cfg).st_mode) == 0o600
    code, _, err = run(capsys, "--config", str(cfg), "init")
    assert code == 2 and "--force" in one_line_error(err)
    code, _, _ = run(capsys, "--config", str(cfg), "init", "--force")
    assert code == 0


def test_init_server_writes_the_url_it_checked(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = isolated / "config.yaml"
    code, _, _ = run(capsys, "--config", str(cfg), "init", "--server", "photos.lan:2283/api/")
    assert code == 0
    assert load_config(cfg, env={}).immich.url == "http://photos.lan:2283"
    code, _, err = run(capsys, "--config", str(isolated / "other.yaml"), "init", "--server", "http://http://x")
    assert code == 2 and "written twice" in one_line_error(err)
    assert not (isolated / "other.yaml").exists()


def test_default_config_path_follows_xdg(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "init")
    assert code == 0
    assert (isolated / "xdg-config" / "immich-mirror" / "config.yaml").exists()


def test_unreachable_server_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_against(capsys, monkeypatch, isolated, "secret-key-123456", "sync")
    line = one_line_error(err)
    assert code == 1 and "cannot reach Immich" in line
    assert "secret-key-123456" not in out + err


def test_doctor_reports_unreachable_with_a_fix(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_against(capsys, monkeypatch, isolated, "secret-key-123456", "doctor", url="127.0.0.1:9")
    assert code == 1
    assert "FAIL reachable" in out and "fix:" in out
    assert "secret-key-123456" not in out + err


def test_missing_url_is_a_config_error(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", str(isolated / "m.db"), "sync")
    assert code == 2 and "IMMICH_URL" in one_line_error(err)


def test_sql_error_is_sqlites_message_in_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = isolated / "m.db"
    open_db(db).dispose()
    code, out, err = run(capsys, "--db", str(db), "sql", "SELECT COUNT(*) AS n FROM assets", "--csv")
    assert code == 0 and out.splitlines() == ["n", "0"]
    code, _, err = run(capsys, "--db", str(db), "sql", "SELEC nonsense")
    assert code == 1 and "SQL error" in one_line_error(err)
    code, _, err = run(capsys, "--db", str(db), "sql", "DELETE FROM assets")
    assert code == 1 and "read-only" in one_line_error(err)


def test_corrupt_db_is_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = isolated / "m.db"
    db.write_bytes(b"garbage" * 100)
    code, _, err = run(capsys, "--db", str(db), "status")
    assert code == 1 and "not an SQLite database" in one_line_error(err)


def test_debug_shows_the_traceback(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = isolated / "m.db"
    db.write_bytes(b"garbage" * 100)
    code, _, err = run(capsys, "--debug", "--db", str(db), "status")
    assert code == 1 and "Traceback" in err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from autotag.cli import app

    for command in app.registered_commands:
        assert command.callback is not None and command.callback.__doc__, command.name


def test_a_key_that_cannot_be_sent_is_refused_without_quoting_it(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("immich:\n  url: http://127.0.0.1:9\n  api_key: |\n    SECRET KEY123xyz\n")
    cfg.chmod(0o600)
    code, out, err = run(capsys, "--config", str(cfg), "--db", str(isolated / "m.db"), "sync")
    line = one_line_error(err)
    assert code == 2 and "immich.api_key: contains a space, a line break" in line
    assert "SECRET" not in out + err
    code, out, err = run_against(capsys, monkeypatch, isolated, "SECRÉT-KEY-123456", "sync")
    assert code == 2 and one_line_error(err).startswith("error: $IMMICH_API_KEY: contains")
    assert "SECR" not in out + err


def test_a_trailing_newline_in_the_key_is_dropped(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: httpx refused the header and its message quoted the whole key.
    code, out, err = run_against(capsys, monkeypatch, isolated, "SECRETKEY123xyz\n", "sync")
    assert code == 1 and "cannot reach Immich" in one_line_error(err) and "SECRETKEY" not in out + err


def test_anything_unexpected_is_still_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "afile").write_text("")
    code, _, err = run(capsys, "--db", str(isolated / "m.db"), "report", str(isolated / "afile" / "sub"))
    assert code == 1 and one_line_error(err) == f"error: Not a directory: {isolated / 'afile' / 'sub'}"
    code, _, err = run(capsys, "--url", "http://[::1", "status")
    assert code == 2 and "it is not a valid URL" in one_line_error(err)


def test_a_bug_prints_one_line_with_the_key_redacted(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import autotag.report

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom with SECRETKEY123xyz inside")

    monkeypatch.setenv("IMMICH_API_KEY", "SECRETKEY123xyz")
    monkeypatch.setattr(autotag.report, "status_info", broken)
    code, out, err = run(capsys, "--db", str(isolated / "m.db"), "status")
    line = one_line_error(err)
    assert code == 1 and line.startswith("error: unexpected RuntimeError: boom with *** inside")
    assert "--debug" in line and "SECRETKEY" not in out + err


def test_dry_run_links_are_web_links_whatever_form_the_url_took(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = FakeLibrary(seed=2)
    asset = lib.add_asset("IMG_0001.jpg")
    with running_fake_server(lib) as (url, key):
        hostport = url.removeprefix("http://")
        monkeypatch.setenv("IMMICH_URL", f"{hostport}/api/")
        monkeypatch.setenv("IMMICH_API_KEY", key)
        assert run(capsys, "--db", str(isolated / "m.db"), "sync")[0] == 0
        code, out, err = run(capsys, "--db", str(isolated / "m.db"), "classify", "--dry-run")
    assert code == 0, err
    assert f"{url}/photos/{asset.id}" in out


def test_immich_instance_url_is_read_and_immich_url_wins(isolated: Path) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("immich:\n  url: http://from-file:2283\n")
    assert load_config(cfg, env={"IMMICH_INSTANCE_URL": "cli-host:2283"}).immich.url == "cli-host:2283"
    both = {"IMMICH_INSTANCE_URL": "cli-host:2283", "IMMICH_URL": "http://mine:2283"}
    assert load_config(cfg, env=both).immich.url == "http://mine:2283"
    assert load_config(cfg, env={}).immich.url == "http://from-file:2283"


def test_a_config_holding_a_key_readable_by_others_gets_a_warning(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = isolated / "c.yaml"
    cfg.write_text("immich:\n  url: http://127.0.0.1:9\n  api_key: file-key-abcdef123456\n")
    cfg.chmod(0o644)
    _, _, err = run(capsys, "--config", str(cfg), "--db", str(isolated / "m.db"), "status")
    assert f"warning: {cfg} holds an API key and is readable by others: chmod 600 {cfg}" in err
    assert "file-key-abcdef123456" not in err
    cfg.chmod(0o600)
    _, _, err = run(capsys, "--config", str(cfg), "--db", str(isolated / "m.db"), "status")
    assert "readable by others" not in err


def test_default_paths_without_xdg_variables(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from immich_mirror import config as mconf

    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(isolated / "home"))
    assert mconf.default_config_path() == isolated / "home/.config/immich-mirror/config.yaml"
    assert mconf.default_db_path() == isolated / "home/.local/share/immich-mirror/mirror.db"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec: only absolute paths count
    assert mconf.default_db_path() == isolated / "home/.local/share/immich-mirror/mirror.db"


def test_status_and_sql_create_no_database_nor_its_folder(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = isolated / "new" / "dir" / "m.db"
    code, out, _ = run(capsys, "--db", str(db), "status")
    assert code == 0 and "never: run `autotag sync`" in out
    code, _, err = run(capsys, "--db", str(db), "sql", "SELECT 1")
    assert code == 1 and "no mirror database yet" in one_line_error(err)
    assert not (isolated / "new").exists()


def test_another_applications_sqlite_file_is_left_untouched(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    db = isolated / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes(body) VALUES ('keep me')")
    conn.close()
    original = db.read_bytes()
    monkeypatch.setenv("IMMICH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("IMMICH_API_KEY", "secret-key-123456")
    for argv in (["status"], ["sql", "SELECT 1"], ["classify", "--dry-run"], ["sync"]):
        code, _, err = run(capsys, "--db", str(db), *argv)
        line = one_line_error(err)
        assert code == 1 and line.endswith("not an autotag mirror (it holds other tables: notes): choose another --db")
        assert db.read_bytes() == original, argv
    assert sorted(p.name for p in isolated.iterdir() if p.name.startswith("other")) == ["other.db", "other.db.lock"]
