"""Drain the outbox into bulk API calls, in waves the server can keep, and verify what it kept.

Immich loses confirmed tag writes when writes to the same asset follow each other quickly (its
sidecar write and metadata re-extraction race, API-NOTES 0b: ~10% of asset-rounds). So:

1. **Combine.** All tag additions of an asset go in one ``PUT /tags/assets`` call: assets are grouped by
   the exact set of tags they get, one call per group and chunk.
2. **Space.** Waves (additions, then removals, then dates) never touch the same asset without the server
   settling in between: with an admin's key the ``sidecar`` and ``metadataExtraction`` queues of
   ``GET /queues`` are polled until empty (capped; other queues are not the pusher's business);
   otherwise the pusher waits a time proportional to the assets touched
   (``push.settle_seconds_per_asset``, capped).
3. **Verify.** Once settled, the membership of every tag touched is read back (one search per tag)
   and compared with the plan; what was lost is re-applied, for at most ``push.verify_rounds`` rounds.
   What is still lost is reported (and fails the command only with ``--strict``); the next run's
   sync sees the truth and plans it again.

Progress (``progress(stage, done, total)``, see ``autotag/progress.py``): the push stage moves after
every write request, the wait stages after every poll or second of spacing, the verify stage after every
page read back.

A row is marked ``sent`` only after the server confirmed its call, in the same transaction that writes
the effect into the mirror and the ``changes`` log, so the next classify is right without a full sync.
Interrupted anywhere, the next push re-sends at most the calls in flight, and every call used is
harmless to repeat (``duplicate``/``not_found`` per id count as done).

The package: ``pusher`` runs the waves and keeps the books, ``settle`` spaces them, ``verify`` reads back
what the server kept, ``result`` holds the settings a push is given and the counts it reports.
"""

from __future__ import annotations

from autotag.push.pusher import KNOWN_KINDS, Pusher
from autotag.push.result import PushResult, PushSettings
from autotag.push.settle import TAG_WRITE_QUEUES, Backlog, tag_write_backlog

__all__ = ["KNOWN_KINDS", "TAG_WRITE_QUEUES", "Backlog", "PushResult", "PushSettings", "Pusher", "tag_write_backlog"]
