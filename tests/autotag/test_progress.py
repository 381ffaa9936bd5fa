"""What a person sees during a first run: progress that moves, waits with a number, summaries in order.

The captures run the real command against the fake over a socket, with its slow background jobs and
its lost writes on: once on a pseudo-terminal (live lines), once through a pipe (a service's log: one
line per phase).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from autotag.progress import SPACING, WAITING
from autotag.progress_view import ProgressView
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server
from tests.terminal import Capture, run_autotag

ASSETS = 80


def slow_library(*, admin: bool, job_delay_s: float) -> FakeLibrary:
    lib = generate_library(ASSETS, seed=21, jobs="async", lost_writes_rate=0.5, lost_writes_window_ms=2000)
    lib.job_delay_s = job_delay_s
    lib.users[lib.owner_id].is_admin = admin
    return lib


def first_run(tmp_path: Path, lib: FakeLibrary, *, tty: bool, args: tuple[str, ...] = ("run",)) -> Capture:
    config = tmp_path / "config.yaml"
    # Small chunks: the push takes several requests, as a big library's does with the default 1000.
    config.write_text(
        "push:\n  chunk_size: 10\n  settle_seconds_per_asset: 0.02\n  settle_max_seconds: 3\n  verify_rounds: 2\n"
    )
    with running_fake_server(lib) as (url, key):
        env = {**os.environ, "IMMICH_URL": url, "IMMICH_API_KEY": key}
        capture = run_autotag(["--config", str(config), "--db", str(tmp_path / "m.db"), *args], env, tty=tty)
    assert capture.returncode == 0, capture.text()
    return capture


def push_counts(text: str) -> list[int]:
    return [int(done) for done, _total in re.findall(r"(\d+)/(\d+) changes", text)]


def in_order(text: str, *patterns: str) -> list[int]:
    """Where each pattern (a regular expression) first matches; each must."""
    found = [re.search(p, text, re.MULTILINE) for p in patterns]
    assert all(found), [p for p, m in zip(patterns, found, strict=True) if m is None]
    return [m.start() for m in found if m]


# ------------------------------------------------------------------------------ terminal
def test_terminal_push_moves_the_wait_has_a_number_and_summaries_come_in_order(tmp_path: Path) -> None:
    capture = first_run(tmp_path, slow_library(admin=False, job_delay_s=0.3), tty=True)
    text = capture.text()
    assert "\x1b[" in capture.raw.decode(errors="replace")  # a live display, redrawn in place
    counts = push_counts(text)
    assert len(set(counts)) > 2, counts  # it moved with the requests, not once at the end
    assert counts == sorted(counts)
    wait = re.search(r"spacing writes so Immich keeps them \(about (\d+) s\); an admin key lets autotag", text)
    assert wait is not None and int(wait.group(1)) >= 1, text
    assert "sync assets" in text and re.search(r"\d+ assets", text)
    where = in_order(text, r"sync \(", "classify: ", r"push: \d+ applied", r"^unclassified \d+")
    assert where == sorted(where), where
    assert text.find("push: ") > text.rfind("spacing writes")  # the push summary follows its wait


def test_terminal_admin_key_shows_the_jobs_queued(tmp_path: Path) -> None:
    capture = first_run(tmp_path, slow_library(admin=True, job_delay_s=1.0), tty=True)
    text = capture.text()
    jobs = [int(n) for n in re.findall(r"waiting for Immich to write the tags \((\d+) jobs queued", text)]
    assert jobs and max(jobs) > 0, text
    assert "spacing writes" not in text


# ------------------------------------------------------------------------------ service log
def test_log_has_one_line_per_phase_in_order(tmp_path: Path) -> None:
    capture = first_run(tmp_path, slow_library(admin=False, job_delay_s=0.3), tty=False)
    text = capture.text()
    assert "\x1b" not in capture.raw.decode(errors="replace") and "━" not in text
    lines = capture.lines()
    for phase in ("sync assets: ", "sync albums: ", "sync tags: ", "classify: "):
        assert sum(line.startswith(phase) for line in lines) == 1, (phase, lines)
    assert len([line for line in lines if re.match(r"push: \d+/\d+ changes in ", line)]) == 1, lines
    verify_rounds = [line for line in lines if line.startswith("verify: ")]
    assert 1 <= len(verify_rounds) <= 2, lines  # one per round
    wait = [line for line in lines if line.startswith("spacing writes so Immich keeps them (about ")]
    assert wait and re.search(r"about \d+ s\)", wait[0]), lines
    where = in_order(text, "^sync assets: ", r"^sync \(", "^classify: ", r"^push: \d+/\d+ changes",
                     "^spacing writes", "^verify: ", r"^push: \d+ applied", r"^unclassified \d+")
    assert where == sorted(where), lines


# ------------------------------------------------------------------------------ the view itself
class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log_view() -> Iterator[tuple[ProgressView, Clock, Console]]:
    console = Console(file=open(os.devnull, "w"), force_terminal=False, width=200, record=True)  # noqa: SIM115
    clock = Clock()
    yield ProgressView(console, live=False, log_every=30.0, clock=clock), clock, console
    console.file.close()


def test_log_view_lines_rates_and_silence(log_view: tuple[ProgressView, Clock, Console]) -> None:
    view, clock, console = log_view
    view("assets", 0, None)
    view("assets", 0, 0)  # a quiet incremental walk: no line
    view("push", 0, 1000)
    clock.now += 4
    view("push", 500, 1000)
    clock.now += 4
    view("push", 1000, 1000)
    view("push", 1000, 1000)  # the closing call after a last count that already ended it
    view(WAITING, 0, 9226)
    clock.now += 10
    view(WAITING, 1000, 9226)  # not yet 30 s: no new line
    clock.now += 25
    view(WAITING, 4000, 9226)
    view(WAITING, 9226, 9226)
    view(SPACING, 0, 120000)
    view.close()
    lines = console.export_text().splitlines()
    assert lines == [
        "push: 1000/1000 changes in 8.0 s (125/s)",
        # nothing drained yet: the estimate is the rate a real server drained at (60 jobs/s)
        "waiting for Immich to write the tags (9226 jobs queued, about 3 min)",
        # 4000 drained in 35 s: 5226 left at that rate is about 46 s
        "waiting for Immich to write the tags (5226 jobs queued, about 46 s)",
        "spacing writes so Immich keeps them (about 120 s); an admin key lets autotag watch Immich's queues "
        "instead",
    ]


def test_live_view_estimates_from_the_measured_rate() -> None:
    console = Console(file=open(os.devnull, "w"), force_terminal=True, width=200)  # noqa: SIM115
    clock = Clock()
    view = ProgressView(console, live=True, clock=clock)
    view("push", 0, 13500)
    clock.now += 30
    view("push", 3000, 13500)  # 100/s: 10500 left is 105 s
    assert view.phase is not None
    assert view.phase.live_detail(clock.now) == "3000/13500 changes  30.0 s  about 2 min left"
    view(SPACING, 0, 10000)
    clock.now += 2.5  # a countdown between the engine's calls
    assert view.phase.wait_text(clock.now).startswith("spacing writes so Immich keeps them (about 8 s)")
    view.close()
    console.file.close()


def test_quiet_shows_nothing(log_view: tuple[ProgressView, Clock, Console]) -> None:
    _, clock, console = log_view
    view = ProgressView(console, live=False, quiet=True, clock=clock)
    view("push", 0, 10)
    view("push", 10, 10)
    view.close()
    assert console.export_text() == ""


def test_the_service_log_in_the_docs_is_what_the_tool_writes() -> None:
    """Every line of docs/watch.md's log examples has the shape a line of the tool has."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "watch.md").read_text(encoding="utf-8")
    section = doc.split("### What its log looks like", 1)[1].split("\n## ", 1)[0]
    shown = [ln for block in re.findall(r"```console\n(.*?)```", section, re.S) for ln in block.splitlines()]
    shapes = [
        r"watching \S+ every \d+ s \(Ctrl-C to stop\)",
        r"sync (assets|albums|tags): \d+/\d+ \1 in [\d.]+ s( \(\d+/s\))?",
        r"push: \d+/\d+ changes in [\d.]+ s( \(\d+/s\))?",
        r"verify: \d+/\d+ assets read back in [\d.]+ s( \(\d+/s\))?",
        r"waiting for Immich to write the tags \(\d+ jobs queued(, about \d+ (s|min))?\)",
        r"spacing writes so Immich keeps them \(about \d+ s\); an admin key lets autotag watch Immich's queues "
        r"instead",
        r"cycle \d+: unclassified \d+, conflicts \d+, changes \d+, [\d.]+ s( \(nothing new\))?",
    ]
    assert len(shown) >= 10
    for line in shown:
        assert any(re.fullmatch(shape, line) for shape in shapes), line


def test_log_lines_go_where_stderr_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live line swaps sys.stderr for a proxy that prints above it: the log handler must follow."""
    import io
    import logging

    from autotag.cli.base import setup_logging

    setup_logging(None)
    swapped = io.StringIO()
    monkeypatch.setattr("sys.stderr", swapped)
    logging.getLogger("autotag.push").warning("3 mutation(s) failed: a test")
    assert "WARNING autotag.push: 3 mutation(s) failed: a test" in swapped.getvalue()
    logging.getLogger().handlers.clear()
