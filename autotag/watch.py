"""``autotag watch``: sync -> classify -> push in a loop, for long editing sessions in Immich's web UI.

Each cycle starts with an incremental sync. Classify runs only when that sync saw a change (or on the
first cycle) and push only when the outbox holds work, so a quiet cycle costs one incremental sync
(plus, right after a push, one local classify that sees our own writes come back and records nothing).

Stopping: ``should_stop`` is checked between the stages, by the pusher between batches, and while
waiting; a stop finishes the current batch and returns (everything not pushed stays in the outbox).

Outages: a cycle that cannot reach the server (connection refused, timeouts, 5xx, 429 after the
client's own retries) is reported once through ``on_event``; the loop then waits twice as long each
time, up to ``max_backoff``, and reports once more when the server answers again.

Nothing here prints: the CLI passes ``on_status`` (one ``CycleStatus`` per completed cycle) and
``on_event`` (outage and recovery lines). ``sleep``, ``clock`` and ``max_cycles`` make it testable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from autotag import session as ops
from autotag.plan import plan_summary
from autotag.session import Session
from immich_mirror.errors import ConnectionFailed, RateLimited, ServerError
from immich_mirror.sync.runner import SyncSummary

OUTAGE_ERRORS = (ConnectionFailed, ServerError, RateLimited)


@dataclass(frozen=True)
class CycleStatus:
    cycle: int
    unclassified: int
    conflicts: int
    changes: int  # mutations the server confirmed in this cycle
    pending: int  # still in the outbox (failed writes, or an interrupted push)
    seconds: float
    synced_changes: int  # rows the sync added, changed or removed
    quiet: bool  # nothing new: the cycle was only a sync
    dead: int = 0  # mutations that could not be applied (refused, gone, out of attempts): never retried

    def line(self) -> str:
        extra = f", {self.pending} pending" if self.pending else ""
        if self.dead:
            extra += f", {self.dead} could not be applied"
        quiet = " (nothing new)" if self.quiet else ""
        return (
            f"cycle {self.cycle}: unclassified {self.unclassified}, conflicts {self.conflicts}, "
            f"changes {self.changes}{extra}, {self.seconds:.1f} s{quiet}"
        )


@dataclass
class WatchResult:
    cycles: int = 0
    changes: int = 0
    outages: int = 0
    dead: int = 0  # mutations that could not be applied, over all cycles
    stopped: bool = False  # by should_stop (Ctrl-C / SIGTERM), not by max_cycles


def _sync_changes(summary: SyncSummary) -> int:
    counts = (v for entity in asdict(summary.stats).values() if isinstance(entity, dict) for v in entity.values())
    return sum(int(v) for v in counts)


def _pending(session: Session) -> int:
    counts = ops.outbox_counts(session)
    return counts.get("pending", 0) + counts.get("failed", 0)


class Watcher:
    def __init__(
        self,
        session: Session,
        *,
        interval: float = 60.0,
        max_backoff: float = 600.0,
        max_cycles: int | None = None,
        on_status: Callable[[CycleStatus], None] = lambda _s: None,
        on_event: Callable[[str], None] = lambda _m: None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.interval = interval
        self.max_backoff = max(max_backoff, interval)
        self.max_cycles = max_cycles
        self.on_status = on_status
        self.on_event = on_event
        self.sleep = sleep
        self.clock = clock
        self.result = WatchResult()
        self._last: tuple[int, int] = (0, 0)  # unclassified, conflicts from the last classify

    def stopping(self) -> bool:
        return self.session.should_stop()

    def _wait(self, seconds: float) -> None:
        """Sleep in short steps so that a stop request is honoured within a second."""
        end = self.clock() + seconds
        while not self.stopping():
            left = end - self.clock()
            if left <= 0:
                return
            self.sleep(min(left, 1.0))

    def cycle(self, number: int, *, first: bool) -> CycleStatus:
        started = self.clock()
        session = self.session
        synced = _sync_changes(ops.sync(session))
        pending = _pending(session)
        queued = sent = dead = 0
        classified: ops.ClassifyResult | None = None
        if (first or synced) and not self.stopping():
            # A sync right after our own push sees those writes come back: classify finds nothing
            # to do then, and (skip_empty) records no run.
            classified = ops.classify(session, dry_run=False, skip_empty=True, command="watch")
            summary = classified.summary
            self._last = (summary.statuses.get("unclassified", 0), summary.statuses.get("conflict", 0))
            if classified.enqueued is not None:
                queued = classified.enqueued.added + classified.enqueued.cancelled
                pending = _pending(session)
        if pending and not self.stopping():
            # The cycle is one run (the one undo offers): its push records in the run its classify began.
            run_id = classified.run_id if classified is not None else None
            pushed = ops.push(session, command="watch", run_id=run_id)
            sent, dead = pushed.sent, pushed.dead
            if classified is not None and run_id is not None:
                status = "interrupted" if pushed.interrupted else "ok"
                ops.finish(session, run_id, status, {**classified.record(), **pushed.as_dict()})
            with session.engine.connect() as conn:
                after = plan_summary(conn)
            self._last = (after.statuses.get("unclassified", 0), after.statuses.get("conflict", 0))
            pending = _pending(session)
        return CycleStatus(
            cycle=number,
            unclassified=self._last[0],
            conflicts=self._last[1],
            changes=sent,
            pending=pending,
            seconds=self.clock() - started,
            synced_changes=synced,
            quiet=not (queued or sent),
            dead=dead,
        )

    def run(self) -> WatchResult:
        failures = 0
        outage_started: float | None = None
        first = True
        number = 0
        while not self.stopping():
            number += 1
            try:
                status = self.cycle(number, first=first)
            except OUTAGE_ERRORS as exc:
                failures += 1
                if outage_started is None:
                    outage_started = self.clock()
                    self.result.outages += 1
                    self.on_event(f"Immich is unreachable ({exc.message}); retrying with back-off")
                delay = min(self.max_backoff, self.interval * 2 ** (failures - 1))
                if self.max_cycles is not None and number >= self.max_cycles:
                    break
                self._wait(delay)
                continue
            if outage_started is not None:
                self.on_event(f"Immich is back after {self.clock() - outage_started:.0f} s")
                outage_started, failures = None, 0
            first = False
            self.result.cycles = number
            self.result.changes += status.changes
            self.result.dead += status.dead
            self.on_status(status)
            if self.max_cycles is not None and number >= self.max_cycles:
                break
            self._wait(max(0.0, self.interval - status.seconds))
        self.result.cycles = number
        self.result.stopped = self.stopping()
        return self.result

