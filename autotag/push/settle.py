"""Spacing the push's waves: a wave never touches an asset whose last write the server has not settled.

With an admin's key the tag-write queues of ``GET /queues`` are polled until empty (capped); without,
the wait is proportional to the assets touched (``push.settle_seconds_per_asset``, capped).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from autotag.progress import SPACING, WAITING, Progress
from autotag.push.result import PushSettings
from immich_mirror.api.client import ImmichClient

log = logging.getLogger(__name__)

# The queues a tag write feeds (API-NOTES 0b): SidecarWrite, then AssetExtractMetadata. Other queues
# (thumbnails, machine learning, a library import) neither race with tag writes nor drain on our clock.
TAG_WRITE_QUEUES = ("sidecar", "metadataExtraction")
# BullMQ counts of work still ahead; "paused" holds the jobs of a paused queue, which will run once resumed.
_PENDING_STATES = ("waiting", "active", "delayed", "paused")


@dataclass(frozen=True)
class Backlog:
    """What ``GET /queues`` says is left of the tag-write jobs."""

    jobs: int  # waiting, active, delayed or held by a pause, in the tag-write queues
    paused: tuple[str, ...]  # tag-write queues that are paused: they will not drain by themselves
    known: bool  # whether the answer listed any tag-write queue at all


def tag_write_backlog(queues: Mapping[str, Any]) -> Backlog:
    """Count the jobs of the tag-write queues in ``ImmichClient.queues()`` (``{name: {isPaused, statistics}}``)."""
    jobs = 0
    paused: list[str] = []
    known = False
    for name in TAG_WRITE_QUEUES:
        queue = queues.get(name)
        if not isinstance(queue, Mapping):
            continue
        known = True
        stats = queue.get("statistics")
        if isinstance(stats, Mapping):
            jobs += sum(v for k in _PENDING_STATES if type(v := stats.get(k)) is int)
        if queue.get("isPaused") is True:
            paused.append(name)
    return Backlog(jobs, tuple(paused), known)


class Settler:
    """The assets written since the server last settled, and the waits that let it settle."""

    def __init__(
        self,
        client: ImmichClient,
        settings: PushSettings,
        *,
        sleep: Callable[[float], None],
        progress: Progress,
    ) -> None:
        self.client = client
        self.settings = settings
        self.sleep = sleep
        self.progress = progress
        # asset ids written since the server last settled: the next wave must not touch them yet
        self.unsettled: set[str] = set()
        # When the last write was sent or the queues last found empty (time.monotonic()).
        self.quiet_since: float | None = None
        self._warned_paused = False

    def settle(self) -> None:
        """Let the server finish the background work of the writes sent so far."""
        if not self.unsettled:
            return
        n = len(self.unsettled)
        queues = self.client.queues()
        backlog = tag_write_backlog(queues) if queues is not None else None
        if backlog is None or not backlog.known:
            if queues is not None:
                log.info("GET /queues lists no %s queue: waiting by the number of assets", "/".join(TAG_WRITE_QUEUES))
            self._space(min(self.settings.settle_max_seconds, n * self.settings.settle_seconds_per_asset))
        else:
            cap = self.settings.settle_max_seconds
            deadline = time.monotonic() + cap
            peak = backlog.jobs  # the stage counts jobs drained out of the most ever seen queued
            while backlog.jobs > 0 and time.monotonic() < deadline:
                self._warn_paused(backlog, cap)
                peak = max(peak, backlog.jobs)
                self.progress(WAITING, peak - backlog.jobs, peak)
                self.sleep(self.settings.queue_poll_seconds)
                queues = self.client.queues()
                if queues is None:
                    break
                backlog = tag_write_backlog(queues)
            if backlog.jobs > 0:
                log.warning(
                    "Immich still has %d tag job(s) queued after %gs; pushing on (verify re-reads what it kept)",
                    backlog.jobs,
                    cap,
                )
            elif peak:
                self.progress(WAITING, peak, peak)
        self.unsettled.clear()
        self.quiet_since = time.monotonic()

    def second_after_settling(self) -> None:
        """Let a second pass since the writes settled: the ``Date`` header counts whole seconds, so the
        server time a verify round starts at is then later than every stamp the settled jobs gave."""
        if self.quiet_since is not None:
            wait = 1.0 - (time.monotonic() - self.quiet_since)
            if wait > 0:
                self.sleep(wait)

    def _space(self, seconds: float) -> None:
        """Without the queues to watch: wait ``seconds`` in steps of at most one, reporting each (ms)."""
        total_ms = round(seconds * 1000)
        waited_ms = 0
        while waited_ms < total_ms:
            self.progress(SPACING, waited_ms, total_ms)
            step = min(1000, total_ms - waited_ms)
            self.sleep(step / 1000)
            waited_ms += step
        if total_ms:
            self.progress(SPACING, total_ms, total_ms)

    def _warn_paused(self, backlog: Backlog, cap: float) -> None:
        if backlog.paused and not self._warned_paused:
            self._warned_paused = True
            log.warning(
                "Immich's %s queue is paused: its jobs will not run, so each wait lasts %gs "
                "(resume it under Administration > Job Queues)",
                " and ".join(backlog.paused),
                cap,
            )

    def before_wave(self, assets: Iterable[str]) -> None:
        if self.unsettled & set(assets):
            self.settle()
