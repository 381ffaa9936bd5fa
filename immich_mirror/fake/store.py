"""`LibraryState`: the fake server's records and its background-job queue.

Jobs are a queue. `jobs="immediate"` (default) drains it after every change, so simple tests never
wait; `"manual"` drains only on `settle()`; `"async"` drains jobs once `job_delay_s` has passed
(checked at every request and by `settle()`), which is what a client meets on a real server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from random import Random

from immich_mirror.fake.state import (
    Clock,
    FakeAlbum,
    FakeApiKey,
    FakeAsset,
    FakePerson,
    FakeSharedLink,
    FakeTag,
    FakeUser,
    TickingClock,
    utc_now,
)

JOB_MODES = ("immediate", "manual", "async")


@dataclass
class _Job:
    due: float
    asset_id: str
    kind: str
    run: Callable[[], None]


class LibraryState:
    """Records and jobs; `FakeLibrary` adds the rules that change them."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        version: str = "3.1.0",
        jobs: str = "immediate",
        job_delay_s: float = 0.5,
        lost_writes_rate: float = 0.0,
        lost_writes_window_ms: float = 1000.0,
        seed: int = 0,
        bootstrap: bool = True,
        api_key: str = "fake-api-key",
    ) -> None:
        """``bootstrap``: start with an admin user owning the API key ``api_key`` (see `bootstrap`)."""
        if jobs not in JOB_MODES:
            raise ValueError(f"jobs must be one of {JOB_MODES}, not {jobs!r}")
        self.lock = threading.RLock()
        self.clock = TickingClock(clock or utc_now)
        self.version = version
        self.jobs_mode = jobs
        self.job_delay_s = job_delay_s
        self.lost_writes_rate = lost_writes_rate
        self.lost_writes_window_ms = lost_writes_window_ms
        self.seed = seed
        self.rng = Random(seed)
        self.users: dict[str, FakeUser] = {}
        self.api_keys: dict[str, FakeApiKey] = {}  # by secret
        self.sessions: dict[str, str] = {}  # bearer token -> user id
        self.sync_acks: dict[str, dict[str, str]] = {}  # bearer token -> ack type -> ack
        self.partners: dict[str, set[str]] = {}  # viewer -> users whose assets show in their timeline
        self.assets: dict[str, FakeAsset] = {}
        self.albums: dict[str, FakeAlbum] = {}
        self.tags: dict[str, FakeTag] = {}
        self.tag_members: dict[str, set[str]] = {}
        self.asset_tags: dict[str, set[str]] = {}
        self.shared_links: dict[str, FakeSharedLink] = {}
        self.people: dict[str, FakePerson] = {}
        self.owner_id = ""
        # Bumped on every change: search results are cached per revision.
        self.revision = 0
        self.lost_writes = 0
        self._jobs: list[_Job] = []
        self._draining = False
        self._last_tag_write: dict[str, datetime] = {}
        if bootstrap:
            self.bootstrap(api_key)

    def bootstrap(self, api_key: str) -> None:
        """What a fresh server holds before any request: `FakeLibrary` adds its admin and key."""

    # -- jobs -----------------------------------------------------------------------------

    def _queue(self, asset_id: str, kind: str, run: Callable[[], None]) -> None:
        self._jobs.append(_Job(time.monotonic() + self.job_delay_s, asset_id, kind, run))

    def pending_jobs(self) -> dict[str, int]:
        """Waiting jobs per queue name, as `GET /api/queues` reports them."""
        with self.lock:
            counts = {"sidecar": 0, "metadataExtraction": 0}
            for job in self._jobs:
                counts["sidecar" if job.kind == "sidecar" else "metadataExtraction"] += 1
            return counts

    def pump(self) -> None:
        """Run the jobs that are due (async mode); the app calls this at every request."""
        if self.jobs_mode == "async":
            self._drain(until=time.monotonic())

    def settle(self) -> None:
        """Run every pending job now, as if the server's queues went empty."""
        with self.lock:
            self._drain(until=None)
            self._last_tag_write.clear()

    def _drain(self, until: float | None) -> None:
        with self.lock:
            if self._draining:
                return
            self._draining = True
            try:
                while self._jobs:
                    due = [j for j in self._jobs if until is None or j.due <= until]
                    if not due:
                        break
                    self._jobs = [j for j in self._jobs if not (until is None or j.due <= until)]
                    for job in due:
                        job.run()
                    self.revision += 1
            finally:
                self._draining = False

    def _changed(self) -> None:
        self.revision += 1
        if self.jobs_mode == "immediate":
            self._drain(until=None)
