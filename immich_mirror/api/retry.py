"""The one retry policy for every Immich request (tenacity).

What is retried, and why:

* **Transport errors.** Connection refused, connect and pool timeouts: the request never reached
  Immich, so a retry is always safe (Immich restarting under docker is the common case); but not a
  host name that does not resolve or a TLS failure, which no wait will fix. Read
  timeouts, write errors and remote protocol errors ("server disconnected") are retried only for
  *idempotent* requests, because the server may have acted on the request before the line dropped.
* **429** (Immich itself has no rate limiter, but reverse proxies do) and **503**: the request was
  refused, not processed; retried for every request. ``Retry-After`` (seconds or an HTTP date) is
  honoured, capped at ``max_retry_after``.
* **502 and 504** (proxy could not reach, or gave up waiting for, Immich): only idempotent requests,
  since a 504 can hide a request that Immich did carry out.
* **A 200 whose body is not JSON** (cut short, a proxy's HTML page, other text; ``GarbledResponse``):
  like a 502, only idempotent requests; one bad answer in the middle of a walk must not end it.
* **500** only for idempotent requests and only **once**: Immich answers 500 for its own bugs
  (for example ``POST /sync/ack {"acks":[]}`` fails the same way every time), so repeating it five
  times only delays the error; one retry still covers a transient database hiccup.
* Never any other 4xx: a bad key, a missing permission or a validation error does not heal itself.

Idempotent here means "repeating it leaves the server as one call would": every GET, the search
POSTs, and Immich's PUT/DELETE bulk calls (adding an asset that is already in an album or tag comes
back as ``duplicate``). ``POST /albums`` (create) and ``POST /assets/jobs`` are not.

Waits are jittered exponential backoff (``initial * 2**n``, capped at ``max_wait``, plus up to
``jitter`` of that at random), bounded by ``max_attempts`` and ``max_total`` seconds. Each retry logs
one warning naming the method, path and reason; never headers, never the API key.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from immich_mirror.errors import GarbledResponse, RateLimited, ServerError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Errors raised before the request left the client: safe to retry for any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after the request may have reached the server: only for idempotent requests.
_MAYBE_SENT = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError, httpx.WriteError,
               httpx.RemoteProtocolError)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. ``RetryPolicy(sleep=lambda s: None)`` for tests."""

    max_attempts: int = 5
    max_total: float = 120.0
    initial: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.25
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    @classmethod
    def no_sleep(cls, max_attempts: int = 5) -> RetryPolicy:
        """Same decisions, zero waiting: for tests and benchmarks against the fake server."""
        return cls(max_attempts=max_attempts, sleep=lambda _s: None)

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        if isinstance(exc, _NOT_SENT):
            return not _permanent_connect_error(exc)
        if isinstance(exc, _MAYBE_SENT):
            return idempotent
        if isinstance(exc, RateLimited):
            return True
        if isinstance(exc, GarbledResponse):
            return idempotent
        if isinstance(exc, ServerError):
            if exc.status == 503:
                return True
            return idempotent and exc.status in (500, 502, 504)
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after: object = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(min(retry_after, self.max_retry_after))
        base = min(self.max_wait, self.initial * 2.0 ** (state.attempt_number - 1))
        return base + random.uniform(0, self.jitter * base)

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ServerError) and exc.status == 500 and state.attempt_number >= 2:
            return True
        return bool((stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_total))(state))

    def call(self, fn: Callable[[], T], *, idempotent: bool, what: str) -> T:
        """Run ``fn`` under this policy. ``what`` ("GET /api/albums") goes into the retry warnings."""

        def log_retry(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed (%s); retry %d of %d in %.1f s",
                what, _describe(exc), state.attempt_number, self.max_attempts - 1, delay,
            )

        retrying = Retrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception(lambda e: self.should_retry(e, idempotent=idempotent)),
            sleep=self.sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        return retrying(fn)


_PERMANENT = ("name or service not known", "nodename nor servname", "no address associated",
              "certificate", "wrong version number", "wrong_version_number", "ssl")


def _permanent_connect_error(exc: BaseException) -> bool:
    """A host name that does not exist or a TLS mismatch will not heal in seconds: fail at once.

    "Temporary failure in name resolution" and "connection refused" (Immich restarting) still retry.
    """
    text = str(exc).lower()
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        text += " " + str(seen).lower()
        seen = seen.__cause__ or seen.__context__
    return any(s in text for s in _PERMANENT)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown"
    status = getattr(exc, "status", None)
    if status:
        return f"HTTP {status}"
    # httpx messages name the host and the OS error, never headers.
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
