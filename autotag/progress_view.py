"""How the CLI shows the engine's ``progress(stage, done, total)`` calls (``autotag/progress.py``).

On a terminal: one live line for the phase under way (what it does, a bar, done/total, time spent and
an estimate of the time left from the rate measured so far), redrawn a few times a second so it moves
even while one slow request runs, and erased when the phase ends (the CLI prints its summary then).

Elsewhere (``watch`` under systemd, a log file, a pipe): one line per phase when it ends, and, for the
waits on Immich, one line when the wait starts (with its number) and one every ``log_every`` seconds
while it lasts. Phases that found nothing to do say nothing, so a quiet ``watch`` cycle stays one line.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from autotag.progress import SPACING, WAITING

# stage -> (what the person reads, what is counted)
LABELS = {
    "assets": ("sync assets", "assets"),
    "albums": ("sync albums", "albums"),
    "tags": ("sync tags", "tags"),
    "people": ("sync people", "people"),
    "push": ("push", "changes"),
    "undo": ("undo", "changes"),
    "verify": ("verify", "assets read back"),
    "classify": ("classify", ""),
}
# Steps without counts: shown while they run, their summary is the CLI's (no line of their own).
STEPS = ("classify",)
WAITS = (WAITING, SPACING)
# Before the queue has drained at all: a real v3.1.0 server drained 9,226 tag jobs in about 2.5 min.
PRIOR_JOBS_PER_SECOND = 60.0
ADMIN_HINT = "an admin key lets autotag watch Immich's queues instead"


def duration(seconds: float) -> str:
    """``12.3 s``, ``1 min 45 s``: how long something took."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def about(seconds: float) -> str:
    """An estimate, as rounded as it is reliable: ``about 40 s``, ``about 3 min``."""
    if seconds < 90:
        return f"about {max(1, math.ceil(seconds))} s"
    return f"about {round(seconds / 60)} min"


@dataclass
class Phase:
    stage: str
    started: float
    done: int = 0
    total: int | None = None
    logged_at: float = 0.0  # when its last line was written (waits, off a terminal)
    updated: float = 0.0  # when the engine last reported it

    def label(self) -> str:
        return LABELS.get(self.stage, (self.stage, ""))[0]

    def unit(self) -> str:
        return LABELS.get(self.stage, ("", ""))[1]

    def empty(self) -> bool:
        return self.done == 0 and not self.total

    def left(self, now: float) -> float | None:
        """Seconds left at the rate measured since the phase started (None before anything was done)."""
        if self.total is None:
            return None
        if self.stage == SPACING:  # a countdown: it moves between the engine's calls too
            return max(0.0, (self.total - self.done) / 1000 - (now - self.updated))
        if self.stage == WAITING and self.done <= 0:
            return self.total / PRIOR_JOBS_PER_SECOND  # nothing drained yet: the rate a real server had
        if self.done <= 0:
            return None
        rate = self.done / max(now - self.started, 1e-6)
        return (self.total - self.done) / rate

    def wait_text(self, now: float) -> str:
        total = self.total or 0
        if self.stage == SPACING:
            left = max(0.0, (total - self.done) / 1000 - (now - self.updated))
            # In seconds, whatever its length: it is a countdown (at most push.settle_max_seconds).
            return f"spacing writes so Immich keeps them (about {max(1, math.ceil(left))} s); {ADMIN_HINT}"
        left_s = self.left(now)
        eta = f", {about(left_s)}" if left_s is not None else ""
        return f"waiting for Immich to write the tags ({total - self.done} jobs queued{eta})"

    def counts(self) -> str:
        of = f"/{self.total}" if self.total is not None else ""
        unit = f" {self.unit()}" if self.unit() else ""
        return f"{self.done}{of}{unit}"

    def live_detail(self, now: float) -> str:
        parts = [self.counts(), duration(now - self.started)] if self.unit() else [duration(now - self.started)]
        left = self.left(now)
        if left is not None and self.total is not None and self.done < self.total:
            parts.append(f"{about(left)} left")
        return "  ".join(parts)

    def end_line(self, now: float) -> str:
        took = now - self.started
        rate = f" ({self.done / took:.0f}/s)" if took >= 1 and self.done else ""
        return f"{self.label()}: {self.counts()} in {duration(took)}{rate}"


class ProgressView:
    """A ``progress`` callback for ``Session``; ``end()`` before printing a summary, ``close()`` at exit."""

    def __init__(
        self,
        console: Console,
        *,
        live: bool | None = None,
        quiet: bool = False,
        log_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.quiet = quiet
        self.log_every = log_every
        self.clock = clock
        self.phase: Phase | None = None
        self._display: Live | None = None
        self._ended: tuple[str, int] | None = None  # (stage, done) of the phase that ended last

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if self.phase is not None and self.phase.stage != stage:
            self.end()
        now = self.clock()
        if self.phase is None and (stage, done) == self._ended and total is not None and done >= total:
            return  # the end of a phase that its last count already ended
        if self.phase is None:
            self.phase = Phase(stage, now)
            if stage in WAITS:
                self.phase.logged_at = now - self.log_every  # announce the wait at its first call
        phase = self.phase
        phase.done, phase.total, phase.updated = done, total, now
        if total is not None and done >= total:
            self.end()
            return
        if self.live:
            self._show()
        elif phase.stage in WAITS and now - phase.logged_at >= self.log_every:
            phase.logged_at = now
            self.console.print(phase.wait_text(now), markup=False, highlight=False)

    def end(self) -> None:
        """The phase under way is over: erase its live line, or write its one line."""
        phase, self.phase = self.phase, None
        if phase is not None:
            self._ended = (phase.stage, phase.done)
        if self._display is not None:
            self._display.stop()
            self._display = None
        if phase is None or self.live or phase.empty() or phase.stage in STEPS:
            return
        if phase.stage in WAITS:
            if phase.logged_at < phase.started:  # a wait that ended at its first call: still say it
                self.console.print(phase.wait_text(self.clock()), markup=False, highlight=False)
            return
        self.console.print(phase.end_line(self.clock()), markup=False, highlight=False)

    close = end

    def discard(self) -> None:
        """The command failed: erase the live line and say nothing of a phase that did not finish."""
        self.phase = None
        if self._display is not None:
            self._display.stop()
            self._display = None

    # -------------------------------------------------------------- terminal
    def _show(self) -> None:
        if self._display is None:
            self._display = Live(
                self, console=self.console, refresh_per_second=4, transient=True, redirect_stdout=False
            )
            self._display.start()
        else:
            self._display.refresh()

    def __rich__(self) -> RenderableType:
        phase = self.phase
        if phase is None:
            return Text("")
        now = self.clock()
        if phase.stage in WAITS:
            return Text(phase.wait_text(now))
        grid = Table.grid(padding=(0, 1))
        grid.add_row(
            Text(phase.label()),
            ProgressBar(total=phase.total, completed=phase.done, width=30),
            Text(phase.live_detail(now)),
        )
        return grid
