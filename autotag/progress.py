"""What the engine tells a front end while it works: ``progress(stage, done, total)`` calls.

Library code never prints; it calls the session's ``progress`` callback (a no-op by default) and the
CLI renders it (``autotag/progress_view.py``). The contract, shared with ``immich_mirror.sync``:

- ``stage`` names the phase: ``assets``, ``albums``, ``tags`` (the sync's passes), ``classify`` (no
  counts), ``push`` (or ``undo``), ``verify``, and the two waits below. A call with another stage than
  the last one starts a new phase.
- ``done`` counts what is finished, ``total`` what there is (None when not known in advance). A call
  with ``done == total`` ends the phase.
- Calls come after every request or verified page (and at least once a second while waiting), so a
  front end can show a rate and an estimate of the time left from what it measured.

The waits have their own units: ``WAITING`` counts Immich's tag-write jobs (``done`` = drained out of
``total`` = the most seen queued, so ``total - done`` are still queued); ``SPACING`` counts milliseconds
of a fixed wait (a key that cannot read the queues).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int | None], None]

WAITING = "wait:queues"  # an admin key: polling GET /queues until the tag-write jobs drained
SPACING = "wait:spacing"  # any other key: a wait proportional to the assets written
VERIFY = "verify"
CLASSIFY = "classify"  # a step without counts: it announces itself with (0, None) and never ends by count
SYNC_STAGES = ("assets", "albums", "tags", "people")


def no_progress(_stage: str, _done: int, _total: int | None) -> None:
    return None
