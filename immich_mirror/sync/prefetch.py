"""Read the next page while the current one is written.

A sync alternates between waiting for Immich (the server builds a page) and writing SQLite (the
mirror stores it). Both mostly release the GIL, so one reader thread a page ahead lets them overlap:
a walk then costs about the slower of the two instead of their sum.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``source``'s items, produced by a background thread up to ``depth`` items ahead.

    An exception in ``source`` is raised here, at the item where it happened. Stopping early (the
    consumer breaks or raises) stops the reader after at most ``depth`` more items, and the reader
    thread is always joined before this generator finishes, so the source is never used by two threads.
    """
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_DONE)
        except BaseException as exc:  # handed to the consumer, re-raised there
            box.put(exc)

    thread = threading.Thread(target=reader, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a reader waiting to put
                box.get_nowait()
            thread.join(timeout=0.1)
