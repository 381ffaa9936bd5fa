"""`autotag doctor` against the fake over real HTTP: each failure prints its fix and exits non-zero."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from autotag.cli import main
from autotag.config import AutotagConfig
from autotag.doctor import run_checks
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.errors import ConnectionFailed, ImmichMirrorError, NotImmich, UnexpectedResponse, UnsupportedServer
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server

KEY = "doctor-key-0123456789"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeLibrary]]:
    for name in ("IMMICH_INSTANCE_URL", "AUTOTAG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("AUTOTAG_DB", str(tmp_path / "m.db"))
    lib = FakeLibrary(api_key=KEY)
    lib.add_asset("IMG_20200101_120000.jpg")
    with running_fake_server(lib, version="3.1.0", api_key=KEY) as (url, _key):
        yield url, lib


def doctor(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, key: str) -> tuple[int, str]:
    monkeypatch.setenv("IMMICH_URL", url)
    monkeypatch.setenv("IMMICH_API_KEY", key)
    code = main(["doctor"])
    out, err = capsys.readouterr()
    assert key not in out + err
    return code, out


def test_all_good(
    server: tuple[str, FakeLibrary], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = doctor(capsys, monkeypatch, server[0], KEY)
    assert code == 0 and "FAIL" not in out and "Immich 3.1.0 (supported)" in out


def test_bad_key(
    server: tuple[str, FakeLibrary], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = doctor(capsys, monkeypatch, server[0], "wrong-key-9876543210")
    assert code == 1 and "FAIL API key" in out and "fix: create a new key" in out


def test_key_without_tag_asset(
    server: tuple[str, FakeLibrary], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, lib = server
    perms = [
        "user.read",
        "asset.read",
        "asset.statistics",
        "album.read",
        "tag.read",
        "tag.create",
        "asset.update",
        "albumAsset.create",
        "albumAsset.delete",
        "album.create",
    ]
    lib.add_api_key(secret="limited-key-0123456789", permissions=perms)
    code, out = doctor(capsys, monkeypatch, url, "limited-key-0123456789")
    assert code == 1 and "FAIL permissions: missing tag.asset" in out and "add: tag.asset" in out
    assert "optional permissions: missing sharedLink.read (share links in exclude/only), person.read" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_stopped_and_wrong_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("AUTOTAG_DB", str(tmp_path / "m.db"))
    code, out = doctor(capsys, monkeypatch, f"http://127.0.0.1:{free_port()}", KEY)
    assert code == 1 and "FAIL reachable" in out and "cannot reach Immich" in out and "fix:" in out
    code, out = doctor(capsys, monkeypatch, "http://no-such-host.invalid", KEY)
    assert code == 1 and "FAIL reachable" in out and "fix:" in out


def version_client(version: dict[str, int]) -> ImmichClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/server/version":
            return httpx.Response(200, json=version)
        return httpx.Response(200, json={"id": "u1", "email": "a@b", "name": "A", "permissions": ["all"]})

    return ImmichClient("http://immich.test", KEY, http=httpx.Client(transport=httpx.MockTransport(handler)))


def test_versions_older_than_2_are_refused_newer_than_known_warn(tmp_path: Path) -> None:
    cfg = AutotagConfig.model_validate({"immich": {"url": "http://immich.test", "api_key": KEY}})
    old = Session(
        cfg=cfg,
        db_path=tmp_path / "m.db",
        client_factory=lambda: version_client({"major": 1, "minor": 140, "patch": 0}),
    )
    checks = {c.name: c for c in run_checks(old)}
    failed = [c for c in checks.values() if not c.ok]
    assert failed and "too old" in failed[0].detail
    new = Session(
        cfg=cfg, db_path=tmp_path / "m.db", client_factory=lambda: version_client({"major": 3, "minor": 9, "patch": 0})
    )
    version = {c.name: c for c in run_checks(new)}["server version"]
    assert version.ok and version.warning and "newer than the newest tested" in version.detail


def test_wrong_url_says_check_the_url_not_upgrade(
    server: tuple[str, FakeLibrary], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Immich at another path: its own JSON 404 for the route every Immich has.
    code, out = doctor(capsys, monkeypatch, server[0] + "/immich", KEY)
    assert code == 1 and "FAIL reachable" in out and "does not look like Immich's API" in out
    assert "fix: check the server URL" in out and "upgrade" not in out


def test_a_web_server_that_is_not_immich(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("AUTOTAG_DB", str(tmp_path / "m.db"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/server/version":  # a site with an HTML 404 page
            return httpx.Response(404, html="<html><title>Not Found</title></html>")
        return httpx.Response(200, html="<html><title>Sign in</title></html>")

    cfg = AutotagConfig.model_validate({"immich": {"url": "http://nas.test", "api_key": KEY}})
    client = ImmichClient("http://nas.test", KEY, http=httpx.Client(transport=httpx.MockTransport(handler)))
    checks = run_checks(Session(cfg=cfg, db_path=tmp_path / "m.db", client_factory=lambda: client))
    failed = [c for c in checks if not c.ok]
    assert len(failed) == 1 and failed[0].name == "reachable" and failed[0].fix.startswith("check the server URL")


def test_config_file_and_url_are_reported(
    server: tuple[str, FakeLibrary], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out = doctor(capsys, monkeypatch, server[0].removesuffix("/") + "/", KEY)
    assert code == 0 and "warn config: no file at" in out
    assert f"ok   server URL: {server[0].removesuffix('/')}\n" in out  # normalised, as the client uses it
    config = tmp_path / "c.yaml"
    config.write_text("immich: {url: 'http://::bad'}\n")
    monkeypatch.setenv("AUTOTAG_CONFIG", str(config))
    assert main(["doctor"]) == 2
    _out, err = capsys.readouterr()
    assert err.strip() == (f"error: {config}: immich.url: invalid Immich server URL 'http://::bad': the port is "
                           "not a number between 1 and 65535 (expected e.g. https://photos.example.com)")
    monkeypatch.delenv("AUTOTAG_CONFIG")
    monkeypatch.setenv("IMMICH_URL", "photos lan")
    assert main(["doctor"]) == 2
    assert capsys.readouterr().err.startswith("error: $IMMICH_URL: invalid Immich server URL 'photos lan'")
    monkeypatch.setenv("IMMICH_URL", server[0])
    assert main(["--url", "ftp://x", "doctor"]) == 2
    assert capsys.readouterr().err.startswith("error: --url: invalid Immich server URL 'ftp://x'")


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (NotImmich("404 at /api/server/version"), "check the server URL: the address you open Immich at"),
        (UnexpectedResponse("an HTML page"), "point the server URL straight at Immich, not at a login page"),
        (ConnectionFailed("cannot reach Immich"), "check the URL, the port and that Immich is running"),
        (UnsupportedServer("something else"), "check the server URL: the address you open Immich at"),
    ],
)
def test_each_way_of_not_reaching_immich_gets_its_own_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: ImmichMirrorError, fix: str
) -> None:
    def fail(_self: ImmichClient) -> None:
        raise error

    monkeypatch.setattr(ImmichClient, "server_version", fail)
    cfg = AutotagConfig.model_validate({"immich": {"url": "http://immich.test", "api_key": KEY}})
    client = ImmichClient("http://immich.test", KEY)
    checks = run_checks(Session(cfg=cfg, db_path=tmp_path / "m.db", client_factory=lambda: client))
    assert [(c.name, c.ok, c.detail) for c in checks if not c.ok] == [("reachable", False, error.message)]
    assert checks[-1].fix.startswith(fix)
