"""What the review server remembers between requests: the plan being reviewed and the apply in progress.

Engine calls that write the mirror (plan, decisions, apply) run one at a time under ``lock`` and the
mirror's process lock; pages of the plan are read from the last plan without either, so the page stays
responsive while a long push runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from autotag import review
from autotag.lock import DbLock
from autotag.review import ReviewPlan
from autotag.session import Session
from autotag.web.thumbs import ThumbnailCache
from immich_mirror.errors import ImmichMirrorError

log = logging.getLogger(__name__)


class Busy(ImmichMirrorError):
    """Another change is being made right now (an apply runs, or another process holds the mirror)."""


@dataclass
class ApplyStatus:
    state: str = "idle"  # idle | running | done | failed
    stage: str = ""
    done: int = 0
    total: int | None = None
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ReviewState:
    def __init__(self, session: Session, thumbs: ThumbnailCache, *, web_base: Callable[[], str]) -> None:
        self.session = session
        self.thumbs = thumbs
        self.web_base = web_base
        self.lock = threading.Lock()
        self.plan: ReviewPlan | None = None
        self.apply_status = ApplyStatus()
        self._thread: threading.Thread | None = None

    @contextmanager
    def writing(self, wait: float = 0.0) -> Iterator[None]:
        """One engine write at a time here, and none while another autotag process holds the mirror."""
        if self.apply_status.state == "running":
            raise Busy("busy: changes are being applied; wait for them to finish")
        acquired = self.lock.acquire(timeout=wait) if wait > 0 else self.lock.acquire(blocking=False)
        if not acquired:
            raise Busy("busy: another change to the plan is being made; try again in a moment")
        try:
            with DbLock(self.session.db_path, wait=5.0):
                yield
        finally:
            self.lock.release()

    def current_plan(self) -> ReviewPlan:
        plan = self.plan
        if plan is None:
            with self.writing(wait=60.0):
                if self.plan is None:
                    self.plan = review.load_plan(self.session)
                plan = self.plan
        return plan

    def reload(self) -> ReviewPlan:
        with self.writing(wait=60.0):
            self.plan = review.load_plan(self.session)
            return self.plan

    # ---------------------------------------------------------------------------- apply, in a thread

    def start_apply(self, fingerprint: str) -> None:
        if not self.lock.acquire(False):
            raise Busy("busy: changes are being applied; wait for them to finish")
        self.apply_status = ApplyStatus(state="running", stage="queueing the plan")
        self._thread = threading.Thread(target=self._apply, args=(fingerprint,), daemon=True, name="review-apply")
        self._thread.start()

    def _progress(self, stage: str, done: int, total: int | None) -> None:
        status = self.apply_status
        status.stage, status.done, status.total = stage, done, total

    def _apply(self, fingerprint: str) -> None:
        status = self.apply_status
        previous = self.session.progress
        self.session.progress = self._progress
        try:
            with DbLock(self.session.db_path, wait=5.0):
                result = review.apply(self.session, fingerprint)
                status.result = {"queued": result.queued, **result.push.as_dict()}
                status.state = "done"
                status.message = _summary(result)
                status.stage = "reading the new plan"
                self.plan = review.load_plan(self.session)
                status.stage = ""
        except ImmichMirrorError as exc:
            status.state, status.message = "failed", exc.message
        except Exception as exc:  # a bug: say so on the page rather than leave it spinning
            log.exception("apply failed")
            status.state, status.message = "failed", f"unexpected {type(exc).__name__} (see the server's log)"
        finally:
            self.session.progress = previous
            self.lock.release()

    def wait_apply(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _summary(result: review.ApplyResult) -> str:
    p = result.push
    parts = [f"applied {p.sent} change(s) in {p.requests} write request(s)"]
    if p.failed:
        parts.append(f"{p.failed} failed (retried by the next push)")
    if p.dead:
        parts.append(f"{p.dead} could not be applied")
    if p.still_lost:
        parts.append(f"{p.still_lost} still lost after verifying")
    parts.append("`autotag undo` reverts them")
    return "; ".join(parts)
