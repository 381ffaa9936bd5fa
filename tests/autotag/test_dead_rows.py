"""Dead rows fail the command: ``push``, ``run`` and a finite ``watch`` exit 1 with one line saying what to do.

A row dies two ways: the server refuses it for good (a tag deleted under a queued removal), or it fails
transiently once too often (``MAX_ATTEMPTS``; here four earlier failures, then a fault-injected 503).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from autotag import cli
from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.outbox import MAX_ATTEMPTS
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy
from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import build_app
from tests.helpers import API_KEY, small_library

UNKNOWN = "autotag_output_unknown"
DEAD_LINE = "change(s) could not be applied and will not be retried: see why with `autotag sql"
# Every tag write answered 503 (retried by the client, then failed: the row counts an attempt).
TAG_WRITES_DOWN = "503@PUT /api/tags/assets"


@pytest.fixture
def library() -> FakeLibrary:
    return small_library()


@pytest.fixture
def connect(tmp_path: Path, library: FakeLibrary, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Session]:
    """``connect(faults)``: the CLI's next command runs on a session over the in-process fake (faults
    injected as ``faults.py`` spells them), which never sleeps."""

    def make(faults: str = "") -> Session:
        plan = FaultPlan.parse(faults) if faults else None

        def client() -> ImmichClient:
            http = TestClient(build_app(library, "3.1.0", plan), base_url="http://fake.test")  # type: ignore[arg-type]
            return ImmichClient("http://fake.test", API_KEY, http=http, retry=RetryPolicy.no_sleep(2))

        s = Session(cfg=AutotagConfig(), db_path=tmp_path / "m.db", client_factory=client, sleep=lambda _s: None)
        monkeypatch.setattr(cli.state, "session", s)
        return s

    return make


def last_line(err: str) -> str:
    return [line for line in err.splitlines() if line.strip()][-1]


def queue_exhausted_adds(connect: Callable[[str], Session]) -> int:
    """Sync and classify, then make the queued marker additions look four failed pushes old."""
    s = connect("")
    ops.sync(s)
    ops.classify(s, dry_run=False)
    with s.engine.begin() as conn:
        n = conn.execute(
            text("UPDATE outbox SET attempts = :a, state = 'failed' WHERE kind = 'tag_add'"), {"a": MAX_ATTEMPTS - 1}
        ).rowcount
    s.close()
    assert n > 0
    return int(n)


def queue_plan(connect: Callable[[str], Session]) -> None:
    """Sync and queue the plan, as `autotag classify` does."""
    s = connect("")
    ops.sync(s)
    ops.classify(s, dry_run=False)
    s.close()


def exhausted_then(
    connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, int, str]:
    """Queue marker additions with one attempt left, take every tag write down, run ``autotag <argv>``:
    (the rows queued, the exit code, stderr)."""
    n = queue_exhausted_adds(connect)
    connect(TAG_WRITES_DOWN)
    capsys.readouterr()
    code = cli.main(list(argv))
    _out, err = capsys.readouterr()
    return n, code, err


def dead_rows(db: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return [(str(k), str(t)) for k, t in conn.execute("SELECT kind, target FROM outbox WHERE state = 'dead'")]


def test_push_exits_1_when_rows_run_out_of_attempts(
    tmp_path: Path, connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str]
) -> None:
    n, code, err = exhausted_then(connect, capsys, "push")
    assert code == 1
    line = last_line(err)
    assert line.startswith(f"error: {n} {DEAD_LINE}"), err
    assert "the next `autotag run` plans again" in line
    assert f"{n} dead" in err and "failed (retried next push)" not in err  # out of attempts: not retried
    assert len(dead_rows(tmp_path / "m.db")) == n

    # The query the line names lists exactly those rows.
    query = line.split('`autotag sql "')[1].split('"`')[0]
    connect("")
    assert cli.main(["sql", "--json", query]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == n and {r["kind"] for r in listed} == {"tag_add"}


def test_a_transient_failure_with_attempts_left_is_no_error(
    tmp_path: Path, connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str]
) -> None:
    queue_plan(connect)
    connect(TAG_WRITES_DOWN)
    assert cli.main(["push", "--json"]) == 0  # retried by the next push: only --strict fails on it
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] > 0 and result["dead"] == 0
    assert dead_rows(tmp_path / "m.db") == []


def test_push_exits_1_when_the_server_refuses_rows(
    tmp_path: Path, library: FakeLibrary, connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str]
) -> None:
    connect("")
    assert cli.main(["run"]) == 0
    marker = library.tag_by_value(UNKNOWN)
    assert marker is not None
    organised = sorted(library.tag_members[marker.id])[:2]
    beach = next(a for a in library.albums.values() if a.name == "2019-06-01 Beach")
    library.add_to_album(beach.id, organised)  # the user files two of them: their markers are to go
    queue_plan(connect)
    library.delete_tag(marker.id)  # ...and deletes the marker tag before the push: the removals cannot be sent
    connect("")
    capsys.readouterr()
    assert cli.main(["push", "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["dead"] == 2
    assert last_line(err).startswith(f"error: 2 {DEAD_LINE}"), err
    assert dead_rows(tmp_path / "m.db") == [("tag_remove", UNKNOWN)] * 2


def test_run_exits_1_with_dead_rows(
    connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str]
) -> None:
    n, code, err = exhausted_then(connect, capsys, "run")
    assert code == 1
    assert last_line(err).startswith(f"error: {n} {DEAD_LINE}"), err


def test_a_finite_watch_exits_1_with_dead_rows(
    connect: Callable[[str], Session], capsys: pytest.CaptureFixture[str]
) -> None:
    n, code, err = exhausted_then(connect, capsys, "watch", "--cycles", "1", "--interval", "1")
    assert code == 1
    assert "cycle 1: " in err and f"{n} could not be applied" in err
    assert last_line(err).startswith(f"error: {n} {DEAD_LINE}"), err
