"""Secrets and safety: the API key never leaves the request header; nothing is deleted; everything undoes.

Every command runs with a distinctive key at the highest verbosity (and, for failures, with ``--debug``);
the key is then looked for in stdout, stderr (logs, tracebacks), the report directory, the database
files (with the WAL) and freshly recorded cassettes.
"""

from __future__ import annotations

import io
import sqlite3
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from autotag.cli import main
from immich_mirror.api import record
from tests.reliability.bad_inputs import ENV_NAMES, KEY, Servers

WRONG_KEY = "wrong-key-Zr8Lq3Vb"


def cli(mp: pytest.MonkeyPatch, tmp: Path, url: str, key: str, *argv: str) -> tuple[int, str]:
    for name in ENV_NAMES:
        mp.delenv(name, raising=False)
    mp.setenv("XDG_CONFIG_HOME", str(tmp / "xdg-config"))
    mp.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
    mp.setenv("IMMICH_URL", url)
    mp.setenv("IMMICH_API_KEY", key)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["-vv", "--db", str(tmp / "mirror.db"), *argv])
    return code, out.getvalue() + err.getvalue()


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]


def test_the_key_is_nowhere(tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    commands: list[tuple[str, ...]] = [
        ("doctor",), ("sync",), ("classify", "--dry-run"), ("classify",), ("push", "--dry-run"), ("push",),
        ("run", "--json"), ("status",), ("sql", "SELECT * FROM sync_state"), ("sql", "SELECT * FROM runs"),
        ("report", str(tmp_path / "report")), ("undo",), ("undo", "--yes"), ("sync", "--full"),
    ]
    seen = []
    for argv in commands:
        code, output = cli(monkeypatch, tmp_path, servers.fake, KEY, *argv)
        assert code == 0, (argv, output)
        seen.append(output)
    # failures, with tracebacks
    for url, key in ((servers.html, KEY), (servers.odd_json, KEY), (servers.fake, WRONG_KEY),
                     (servers.tls, KEY), (servers.refused, KEY)):
        code, output = cli(monkeypatch, tmp_path, url, key, "--debug", "sync")
        assert code != 0 and "Traceback" in output, output
        seen.append(output)
    # a config file holding the key, with something wrong next to it
    cfg = tmp_path / "c.yaml"
    for bad in ("  timeout: soon\n", "  urll: x\n", "  api_key: [" + KEY + "]\n"):
        cfg.write_text(f"immich:\n  api_key: {KEY}\n{bad}")
        code, output = cli(monkeypatch, tmp_path, servers.fake, KEY, "--debug", "--config", str(cfg), "status")
        assert code == 2, output
        seen.append(output)
    text = "\n".join(seen)
    assert "HTTP Request" in text, "-vv should log the HTTP requests (and still not the key)"
    for secret in (KEY, WRONG_KEY):
        assert secret not in text
        for path in files_under(tmp_path / "report", *tmp_path.glob("mirror.db*")):
            assert secret.encode() not in path.read_bytes(), path


def test_recorded_cassettes_hold_no_key(tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMMICH_URL", servers.fake)
    monkeypatch.setenv("IMMICH_API_KEY", KEY)
    with redirect_stderr(io.StringIO()):
        assert record.main(["--out", str(tmp_path / "cassettes")]) == 0
    written = files_under(tmp_path / "cassettes")
    assert len(written) >= 10
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    repo = Path(__file__).resolve().parents[2] / "cassettes"
    for path in files_under(repo):
        assert b"x-api-key" not in path.read_bytes().lower(), path


def test_tls_is_verified_unless_insecure_which_warns(
    tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = cli(monkeypatch, tmp_path, servers.tls, KEY, "sync")
    assert code == 1 and "TLS certificate could not be verified" in output
    code, output = cli(monkeypatch, tmp_path, servers.tls, KEY, "--insecure", "sync")
    assert code == 0 and "warning: TLS certificate verification is off" in output


def _comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What a run may change and undo must restore (timestamps move with any write, so they are left out)."""
    assets = {aid: {k: v for k, v in a.items() if not k.endswith("_at")} for aid, a in snapshot["assets"].items()}
    albums = {aid: a["asset_ids"] for aid, a in snapshot["albums"].items()}
    return {"assets": assets, "albums": albums, "asset_tags": snapshot["asset_tags"]}


FORBIDDEN = ("/api/assets", "/api/albums/", "/api/tags/", "/api/duplicates")


def test_run_deletes_nothing_and_undo_restores_the_server(
    tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _comparable(servers.library.snapshot())
    tags_before = set(servers.library.snapshot()["tags"])
    start = len(servers.log.seen)
    code, output = cli(monkeypatch, tmp_path, servers.fake, KEY, "run")
    assert code == 0, output
    assert _comparable(servers.library.snapshot()) != before, "the run should have marked something"
    code, output = cli(monkeypatch, tmp_path, servers.fake, KEY, "undo", "--yes")
    assert code == 0, output
    assert _comparable(servers.library.snapshot()) == before
    # the marker tags the run created are deleted again; every other tag stays
    assert set(servers.library.snapshot()["tags"]) == tags_before
    deletes = [(m, p) for m, p in servers.log.seen[start:] if m == "DELETE"]
    # Untagging (DELETE /tags/{id}/assets) is how a marker comes off; deleting an asset, an album or a
    # tag the tool did not create, never.
    with sqlite3.connect(tmp_path / "mirror.db") as db:
        created = {f"/api/tags/{t}" for (t,) in db.execute("SELECT tag_id FROM created_tags")}
    assert created, "the run should have created its marker tags"
    bad = [(m, p) for m, p in deletes if p.startswith(FORBIDDEN) and not p.endswith("/assets") and p not in created]
    assert deletes and not bad, deletes
    assert ("DELETE", "/api/assets") not in deletes
