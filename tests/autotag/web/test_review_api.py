"""The review server without a browser: the token, Host and Origin guard, decisions held out of later
plans (and counted by the dry run), thumbnails through the server's own cache, apply as a run undo reverts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.session import Session
from autotag.web.app import create_app
from autotag.web.state import ReviewState
from autotag.web.thumbs import ThumbnailCache
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import API_KEY, fake_client, fake_session

ORIGIN = "http://127.0.0.1:8765"
TOKEN = "test-token-123456"


class Page:
    """The review app in process, with a client that talks as the page does."""

    def __init__(self, session: Session, library: FakeLibrary, tmp: Path) -> None:
        fetches: list[str] = []
        client = fake_client(library)

        def fetch(asset_id: str) -> tuple[bytes, str]:
            fetches.append(asset_id)
            return client.thumbnail(asset_id)

        self.fetches = fetches
        self.state = ReviewState(session, ThumbnailCache(tmp / "thumbs", fetch), web_base=lambda: "http://immich.test")
        self.http = TestClient(create_app(self.state, TOKEN), base_url=ORIGIN)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params={"token": TOKEN, **params})
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        response = self.http.post(path, params={"token": TOKEN}, json=body, headers={"Origin": ORIGIN})
        assert response.status_code == status, response.text
        return response.json()

    def wait_apply(self) -> dict[str, Any]:
        self.state.wait_apply(timeout=60)
        status: dict[str, Any] = self.get("/api/apply")
        return status


@pytest.fixture
def world(tmp_path: Path) -> tuple[Page, Session, FakeLibrary]:
    library = generate_library(120, seed=3)
    session = fake_session(library, tmp_path / "m.db", cfg=AutotagConfig())
    ops.sync(session)
    return Page(session, library, tmp_path), session, library


def test_every_request_needs_the_token(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, _, _ = world
    for path in ("/", "/api/plan", "/static/review.js", "/thumb/x", "/progress.svg", "/nope"):
        assert page.http.get(path).status_code == 403, path
        assert page.http.get(path, params={"token": "wrong-token"}).status_code == 403, path
    assert page.http.get("/api/plan", headers={"X-Autotag-Token": TOKEN}).status_code == 200
    body = page.http.get("/").text
    assert "forbidden" in body and "autotag review" in body


def test_posts_need_the_pages_origin_and_loopback_host(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, _, _ = world
    plan = page.get("/api/plan")
    body = {"decision": "approved", "all": True, "fingerprint": plan["fingerprint"]}
    for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"}):
        response = page.http.post("/api/decide", params={"token": TOKEN}, json=body, headers=headers)
        assert response.status_code == 403, headers
    rebound = TestClient(page.http.app, base_url="http://attacker.example:8765")
    assert rebound.get("/api/plan", params={"token": TOKEN}).status_code == 403
    # a state change by GET is not routed at all
    assert page.http.get("/api/apply", params={"token": TOKEN}).json()["state"] == "idle"
    assert page.post("/api/decide", body)["recorded"] == plan["total"]


def test_page_counts_are_the_dry_runs(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, session, _ = world
    plan = page.get("/api/plan")
    dry = ops.classify(session, dry_run=True, preview=None)
    assert plan["total"] == len(dry.rows) == dry.summary.rows > 0
    assert plan["changes"] == dry.summary.changes == dry.summary.rows
    assert plan["by_kind"] == dry.summary.kinds and plan["by_status"] == dry.summary.statuses
    assert sum(f["count"] for f in plan["features"]) == plan["total"]
    keys = set()
    for feature in plan["features"]:
        for group in feature["groups"]:
            got = page.get(f"/api/group/{group['id']}", size=500)
            assert got["count"] == group["count"] == len(got["items"])
            keys |= {i["key"] for i in got["items"]}
    assert keys == {r.idem_key for r in dry.rows}


def test_rejected_changes_are_held_back_until_lifted(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, session, _ = world
    plan = page.get("/api/plan")
    group = plan["features"][0]["groups"][0]
    items = page.get(f"/api/group/{group['id']}", size=500)["items"]
    after = page.post("/api/decide", {"decision": "rejected", "groups": [group["id"]],
                                      "fingerprint": plan["fingerprint"]})["plan"]
    assert after["held_back"] == group["count"] and after["total"] == plan["total"] - group["count"]
    dry = ops.classify(session, dry_run=True, preview=None)
    assert dry.held_back == group["count"]
    assert not {i["key"] for i in items} & {r.idem_key for r in dry.rows}
    held = page.get("/api/held", size=500)
    assert held["count"] == group["count"] and {h["key"] for h in held["items"]} == {i["key"] for i in items}
    assert all(h["change"] for h in held["items"])  # what the page showed, in words
    # a stale page cannot decide on a plan it no longer shows
    page.post("/api/decide", {"decision": "rejected", "all": True, "fingerprint": plan["fingerprint"]}, 409)
    lifted = page.post("/api/lift", {"keys": [items[0]["key"]]})
    assert lifted["lifted"] == 1 and lifted["plan"]["held_back"] == group["count"] - 1
    lifted = page.post("/api/lift", {"all": True})
    assert lifted["plan"]["total"] == plan["total"] and lifted["plan"]["held_back"] == 0
    assert len(ops.classify(session, dry_run=True, preview=None).rows) == plan["total"]


def test_apply_pushes_the_rest_as_a_run_that_undo_reverts(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, session, library = world
    plan = page.get("/api/plan")
    group = plan["features"][0]["groups"][0]
    rejected = {i["asset_id"] for i in page.get(f"/api/group/{group['id']}", size=500)["items"]}
    after = page.post("/api/decide", {"decision": "rejected", "groups": [group["id"]],
                                      "fingerprint": plan["fingerprint"]})["plan"]
    page.post("/api/apply", {"fingerprint": plan["fingerprint"]}, 202)  # the old plan: refused, nothing sent
    assert page.wait_apply()["state"] == "failed"
    assert ops.outbox_counts(session).get("sent", 0) == 0
    with session.engine.connect() as conn:
        runs_before = conn.exec_driver_sql("SELECT count(*) FROM runs").scalar()
    assert runs_before == 0  # the refused apply left no run behind
    page.post("/api/apply", {"fingerprint": after["fingerprint"]}, 202)
    status = page.wait_apply()
    assert status["state"] == "done", status
    assert status["result"]["sent"] == after["total"]
    assert page.get("/api/plan")["total"] == 0
    with session.engine.connect() as conn:
        run = conn.exec_driver_sql("SELECT max(run_id) FROM changes").scalar()
        command = conn.exec_driver_sql("SELECT command FROM runs WHERE id = ?", (run,)).scalar()
        applied = conn.exec_driver_sql(
            "SELECT count(*) FROM changes WHERE run_id = ? AND kind NOT LIKE '%\\_create' ESCAPE '\\'", (run,)
        ).scalar()
    assert command == "review" and applied == after["total"]
    with session.engine.connect() as conn:  # one run: what undo and the run list show
        assert conn.exec_driver_sql("SELECT command FROM runs").scalars().all() == ["review"]
    marker = group["name"].split()[1]
    tagged = {a for (a, t) in library.snapshot()["asset_tags"] if library.tags[t].value == marker}
    assert not tagged & rejected
    undone = ops.undo(session, run_id=None, apply=True)
    assert undone.undone_run == run and undone.push is not None and not undone.push.failed
    # undone: the same changes are planned again (the rejected ones still held back)
    again = ops.classify(session, dry_run=True, preview=None)
    assert len(again.rows) == after["total"] and again.held_back == group["count"]


def test_thumbnails_come_through_the_cache(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, _, library = world
    asset = next(iter(library.assets))
    for _ in range(3):
        response = page.http.get(f"/thumb/{asset}", params={"token": TOKEN})
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/webp" and response.content.startswith(b"RIFF")
    assert page.fetches == [asset]  # fetched from Immich once, then from disk
    assert page.http.get("/thumb/..%2F..%2Fetc", params={"token": TOKEN}).status_code in (400, 404)
    assert page.http.get(f"/thumb/{'0' * 8}-0000-4000-8000-{'0' * 12}", params={"token": TOKEN}).status_code == 404


def test_worklists_and_progress(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, session, _ = world
    plan = page.get("/api/plan")
    unclassified = page.get("/api/unclassified")
    assert unclassified["count"] == plan["by_status"]["unclassified"]
    assert sum(d["count"] for d in unclassified["items"]) <= unclassified["count"]
    conflicts = page.get("/api/conflicts")
    assert conflicts["count"] == plan["by_status"]["conflict"]
    for c in conflicts["items"]:
        assert len(c["rules"]) >= 1 and c["causes"], c
    ops.classify(session, dry_run=False)
    trend = page.get("/api/trend")["trend"]
    assert trend and trend[-1]["unclassified"] == plan["by_status"]["unclassified"]
    svg = page.http.get("/progress.svg", params={"token": TOKEN})
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<polyline" not in svg.text  # one run
    assert svg.text.count("<circle") == 2


def test_the_key_is_in_no_response(world: tuple[Page, Session, FakeLibrary]) -> None:
    page, _, _ = world
    session_key = page.state.session.cfg.immich.api_key
    assert session_key is None  # fake_session keeps its key in the client; set one to check redaction
    page.state.session.cfg = page.state.session.cfg.model_copy(
        update={"immich": page.state.session.cfg.immich.model_copy(update={"api_key": API_KEY})}
    )
    plan = page.get("/api/plan")
    bodies = [page.http.get(p, params={"token": TOKEN}).text for p in
              ("/", "/static/review.js", "/static/review.css", "/api/plan", "/api/held", "/api/conflicts",
               "/api/unclassified", "/api/trend", "/progress.svg")]
    bodies += [str(page.get(f"/api/group/{g['id']}")) for f in plan["features"] for g in f["groups"]]
    assert all(API_KEY not in b for b in bodies)


def test_the_cli_serves_the_page_on_loopback_and_warns_for_another_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from autotag import cli
    from autotag.web import server as web_server

    started: list[tuple[str, str]] = []
    monkeypatch.setattr(
        web_server.ReviewServer, "run", lambda self: (started.append((self.host, self.url)), self.sock.close())
    )
    monkeypatch.setenv("AUTOTAG_DB", str(tmp_path / "m.db"))
    monkeypatch.setenv("AUTOTAG_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text("{}\n")
    assert cli.main(["review"]) == 1
    assert "nothing mirrored yet: run `autotag sync` first" in capsys.readouterr().err and not started
    open_db(tmp_path / "m.db").dispose()
    assert cli.main(["review"]) == 0
    out, err = capsys.readouterr()
    host, url = started[-1]
    assert host == "127.0.0.1" and url.startswith("http://127.0.0.1:") and "?token=" in url
    assert f"review the plan at {url}" in out and "warning" not in err
    assert cli.main(["review", "--host", "0.0.0.0"]) == 0
    _, err = capsys.readouterr()
    assert "warning: --host 0.0.0.0" in err and "other machines" in err


def test_a_rejected_addition_to_a_new_album_holds_once_the_album_exists(tmp_path: Path) -> None:
    """Rejected while the album is still to be created (target `name:<album>`); the others create it; the
    next plan proposes the same change with the album's id, and the rejection still holds it back."""
    import yaml

    from autotag.config import parse_config
    from autotag.demo import demo_config_text

    library = generate_library(300, seed=7)  # two assets tagged people/alice, and no album Alice yet
    cfg = parse_config(yaml.safe_load(demo_config_text().replace("settle_seconds_per_asset: 0.05",
                                                                 "settle_seconds_per_asset: 0")))
    session = fake_session(library, tmp_path / "m.db", cfg=cfg)
    ops.sync(session)
    page = Page(session, library, tmp_path)
    plan = page.get("/api/plan")
    alice = next(g for f in plan["features"] for g in f["groups"] if g["name"] == 'add to new album "Alice"')
    name = "Alice"
    first = page.get(f"/api/group/{alice['id']}")["items"][0]
    after = page.post("/api/decide", {"decision": "rejected", "keys": [first["key"]],
                                      "fingerprint": plan["fingerprint"]})["plan"]
    page.post("/api/apply", {"fingerprint": after["fingerprint"]}, 202)
    assert page.wait_apply()["state"] == "done"
    album = next(a for a in library.albums.values() if a.name == name)
    assert first["asset_id"] not in album.members and len(album.members) == alice["count"] - 1
    ops.sync(session)
    again = ops.classify(session, dry_run=True, preview=None)
    assert not [r for r in again.rows if r.kind == "album_add" and r.asset_id == first["asset_id"]]
    assert again.held_back >= 1
