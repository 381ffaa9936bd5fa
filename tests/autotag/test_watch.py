"""The watch loop: cycles and their status lines, quiet cycles, outages with back-off, SIGTERM mid-push."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from autotag.config import AutotagConfig, PushConfig
from autotag.session import Session
from autotag.watch import CycleStatus, Watcher
from immich_mirror.errors import ConnectionFailed
from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server
from tests.helpers import fake_session_fixture

ROOT = Path(__file__).parents[2]
UNKNOWN = "autotag_output_unknown"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=5)
    ids = [lib.add_asset(f"IMG_{i:02d}.jpg").id for i in range(8)]
    lib.create_album("2021-05-01 Trip", asset_ids=ids[:3])
    return lib


session = fake_session_fixture(every_version=False)


def markers(lib: FakeLibrary) -> set[str]:
    tag = lib.tag_by_value(UNKNOWN)
    return set(lib.tag_members.get(tag.id, set())) if tag else set()


def runs(s: Session) -> int:
    with s.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM runs")).scalar_one())


def test_cycles_status_lines_and_quiet_cycles(session: Session, library: FakeLibrary) -> None:
    clock = FakeTime()
    statuses: list[CycleStatus] = []
    runs_after: list[int] = []
    fixed = sorted(set(library.assets) - set(next(iter(library.albums.values())).members))[0]

    def on_status(status: CycleStatus) -> None:
        statuses.append(status)
        runs_after.append(runs(session))
        if status.cycle == 2:  # the user files a photo into a date album in the web UI
            library.add_to_album(next(iter(library.albums)), [fixed])

    result = Watcher(session, interval=30, max_cycles=4, on_status=on_status, sleep=clock.sleep,
                     clock=clock.clock).run()
    first, quiet, after_edit, quiet_again = statuses
    assert (first.unclassified, first.conflicts, first.changes, first.quiet) == (5, 0, 5, False)
    assert markers(library) == set(library.assets) - {fixed} - set(next(iter(library.albums.values())).members)
    assert quiet.quiet and quiet.changes == 0 and quiet.unclassified == 5
    assert runs_after[1] == runs_after[0], "a quiet cycle is only a sync: no classify or push run"
    assert (after_edit.unclassified, after_edit.changes, after_edit.quiet) == (4, 1, False)
    assert fixed not in markers(library)
    assert quiet_again.quiet
    assert first.line() == "cycle 1: unclassified 5, conflicts 0, changes 5, 0.0 s"
    assert quiet.line().endswith("(nothing new)")
    assert result.cycles == 4 and result.changes == 6 and not result.stopped
    assert sum(clock.sleeps) == pytest.approx(90)  # three waits of --interval


def test_outage_backs_off_says_so_once_and_recovers(session: Session, library: FakeLibrary) -> None:
    clock = FakeTime()
    events: list[str] = []
    statuses: list[CycleStatus] = []
    down = {"until": -1.0}
    client = session.client
    real_request = client.request

    def request(*args: Any, **kw: Any) -> Any:
        if clock.now < down["until"]:
            raise ConnectionFailed(f"cannot reach Immich at {client.base_url}: connection refused")
        return real_request(*args, **kw)

    client.request = request  # type: ignore[method-assign]
    cycle_starts: list[float] = []
    real_cycle = Watcher.cycle

    def on_status(status: CycleStatus) -> None:
        statuses.append(status)
        if status.cycle == 1:
            down["until"] = clock.now + 10 + 65  # down from the next cycle on, for 65 s
            library.add_asset("during-outage.jpg")

    watcher = Watcher(session, interval=10, max_backoff=30, max_cycles=6, on_status=on_status,
                      on_event=events.append, sleep=clock.sleep, clock=clock.clock)

    def cycle(number: int, *, first: bool) -> CycleStatus:
        cycle_starts.append(clock.now)
        return real_cycle(watcher, number, first=first)

    watcher.cycle = cycle  # type: ignore[method-assign]
    result = watcher.run()
    # cycle 1 at 0; down at 10, 20 (x2 back-off), 40 (x2), 70 (capped at 30: still down until 75), up at 100
    assert cycle_starts == [0, 10, 20, 40, 70, 100]
    assert len(events) == 2 and "unreachable" in events[0] and "connection refused" in events[0]
    assert events[1].startswith("Immich is back after")
    assert [s.cycle for s in statuses] == [1, 6]
    assert statuses[1].changes == 1 and markers(library) == set(library.assets) - set(
        next(iter(library.albums.values())).members
    )
    assert result.outages == 1


def test_outage_in_the_middle_of_a_push_loses_nothing_and_applies_nothing_twice(
    session: Session, library: FakeLibrary
) -> None:
    """The server goes away right after the push's first write landed (its answer lost with it): the
    loop backs off, and once the server is back the push finishes; each marker is applied and logged once."""
    clock = FakeTime()
    events: list[str] = []
    client = session.client
    real_request = client.request
    down = {"until": -1.0, "armed": True}

    def request(method: str, path: str, **kw: Any) -> Any:
        if clock.now < down["until"]:
            raise ConnectionFailed(f"cannot reach Immich at {client.base_url}: connection refused")
        response = real_request(method, path, **kw)
        if method == "PUT" and path == "/tags/assets" and down["armed"]:
            down.update(armed=False, until=clock.now + 25)  # this write landed; its answer did not
            raise ConnectionFailed(f"cannot reach Immich at {client.base_url}: connection reset")
        return response

    client.request = request  # type: ignore[method-assign]
    unclassified = set(library.assets) - set(next(iter(library.albums.values())).members)
    watcher = Watcher(session, interval=10, max_backoff=30, max_cycles=5, on_event=events.append,
                      sleep=clock.sleep, clock=clock.clock)
    result = watcher.run()
    assert not down["armed"] and result.outages == 1
    assert any("unreachable" in e for e in events) and any(e.startswith("Immich is back after") for e in events)
    assert markers(library) == unclassified
    with session.engine.connect() as conn:
        logged = conn.execute(
            text("SELECT asset_id, COUNT(*) FROM changes WHERE kind = 'tag_add' GROUP BY asset_id")
        ).all()
        live = conn.execute(text("SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'failed')")).scalar()
    assert dict(logged) == dict.fromkeys(unclassified, 1) and live == 0


def test_stop_request_ends_the_wait_promptly(session: Session) -> None:
    clock = FakeTime()
    stop = {"now": False}
    session.should_stop = lambda: stop["now"]

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now >= 5:
            stop["now"] = True  # Ctrl-C while waiting for the next cycle

    result = Watcher(session, interval=3600, sleep=sleep, clock=clock.clock).run()
    assert result.stopped and result.cycles == 1 and clock.now == 5


def test_sigterm_during_push_exits_cleanly_and_push_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = FakeLibrary(seed=9)
    for i in range(40):
        lib.add_asset(f"IMG_{i:02d}.jpg")
    faults = FaultPlan.parse("latency:1:0.15@PUT /api/tags/assets")
    db = tmp_path / "m.db"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("push:\n  chunk_size: 4\n")
    with running_fake_server(lib, faults=faults) as (url, key):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "IMMICH_URL": url, "IMMICH_API_KEY": key,
               "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "autotag", "--config", str(cfg), "--db", str(db), "watch", "--interval", "60"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 20
        while not markers(lib) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert markers(lib), "the push never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "stopping after the current batch" in err and "nothing is lost" in err
        assert "Traceback" not in err
        done_before = markers(lib)
        assert 0 < len(done_before) < 40, "SIGTERM should land in the middle of the push"

        # The next `autotag push` applies the rest: the server ends as one uninterrupted run leaves it.
        for name, value in (("IMMICH_URL", url), ("IMMICH_API_KEY", key), ("XDG_CONFIG_HOME", str(tmp_path))):
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AUTOTAG_CONFIG", raising=False)
        handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        try:
            from autotag.cli import main

            assert main(["--config", str(cfg), "--db", str(db), "push"]) == 0
        finally:
            signal.signal(signal.SIGINT, handlers[0])
            signal.signal(signal.SIGTERM, handlers[1])
    assert markers(lib) == set(lib.assets)
    s = Session(cfg=AutotagConfig(push=PushConfig(chunk_size=4)), db_path=db)
    with s.engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")).all())
        changes = conn.execute(
            text("SELECT count(*), count(DISTINCT asset_id) FROM changes WHERE asset_id IS NOT NULL")
        ).one()
    s.close()
    assert states == {"sent": 40}
    assert tuple(changes) == (40, 40), "every change applied and logged exactly once"


def test_docs_name_only_real_options_and_a_restarting_unit() -> None:
    import re

    import typer.main

    from autotag.cli import app

    doc = (ROOT / "docs" / "watch.md").read_text(encoding="utf-8")
    command = typer.main.get_command(app).commands["watch"]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in p.opts}
    prose = re.sub(r"```.*?```", "", doc, flags=re.S)
    mentioned = set(re.findall(r"`[^`\n]*?(--[a-z-]+)[^`\n]*`", prose))
    assert mentioned and mentioned <= options | {"--yes", "--user"}  # undo --yes, systemctl --user
    unit = re.search(r"```ini\n(.*?)```", doc, flags=re.S)
    assert unit and "Restart=on-failure" in unit.group(1) and "EnvironmentFile=" in unit.group(1)
    # The unit shown is the one `install-service` writes, blanks aside.
    shipped = (ROOT / "autotag" / "autotag-watch.service").read_text(encoding="utf-8")
    directives = {ln.split("=", 1)[0] for ln in shipped.splitlines() if "=" in ln and not ln.startswith("#")}
    shown = {ln.split("=", 1)[0] for ln in unit.group(1).splitlines() if "=" in ln and not ln.startswith("#")}
    assert directives == shown
    assert "chmod 600" in doc
