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
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text

from autotag.created_tags import delete_created_tags, ensure_tags
from autotag.effects import apply_to_mirror, change_of
from autotag.features.album_create import delete_created_albums, resolve_album_names
from autotag.outbox import OutboxRow, live_rows, mark_failed, mark_sent, record_changes
from autotag.progress import SPACING, VERIFY, WAITING, Progress, no_progress
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.models import BulkIdResult
from immich_mirror.errors import ApiError, ConnectionFailed, NotFound, PermissionDenied, ServerError
from immich_mirror.sync.pushed import record_push

log = logging.getLogger(__name__)
T = TypeVar("T")

TAG_KINDS = ("tag_add", "tag_remove")
ALBUM_KINDS = ("album_add", "album_remove")
DATE_KINDS = ("set_date",)
ALBUM_DELETE = "album_delete"  # undo of an album the tool created (autotag/features/album_create.py)
TAG_DELETE = "tag_delete"  # undo of a tag the tool created (autotag/created_tags.py)
KNOWN_KINDS = TAG_KINDS + ALBUM_KINDS + DATE_KINDS + (ALBUM_DELETE, TAG_DELETE)
# The queues a tag write feeds (API-NOTES 0b): SidecarWrite, then AssetExtractMetadata. Other queues
# (thumbnails, machine learning, a library import) neither race with tag writes nor drain on our clock.
TAG_WRITE_QUEUES = ("sidecar", "metadataExtraction")
# BullMQ counts of work still ahead; "paused" holds the jobs of a paused queue, which will run once resumed.
_PENDING_STATES = ("waiting", "active", "delayed", "paused")


@dataclass
class PushSettings:
    chunk_size: int = 1000
    settle_seconds_per_asset: float = 0.05
    settle_max_seconds: float = 120.0
    verify_rounds: int = 3
    queue_poll_seconds: float = 0.5


@dataclass
class PushResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    rounds: int = 0
    writes_lost: int = 0
    writes_reapplied: int = 0
    still_lost: int = 0
    calls: list[str] = field(default_factory=list)  # dry run: what would be sent
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "calls"}


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


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class _Stopped(Exception):
    """A stop was requested (SIGTERM, Ctrl-C): raised between two calls, never inside one."""


class Pusher:
    def __init__(
        self,
        client: ImmichClient,
        engine: Engine,
        run_id: int | None,
        settings: PushSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Progress = no_progress,
        only_run: int | None = None,
        stage: str = "push",
    ) -> None:
        self.only_run = only_run
        self.client = client
        self.engine = engine
        self.run_id = run_id
        self.settings = settings or PushSettings()
        self.sleep = sleep
        self.should_stop = should_stop
        self.progress = progress
        self.stage = stage  # the name the person sees: "push", or "undo" when undoing
        self._total = 0  # rows of this push: what the push stage counts up to
        self._in_waves = False  # the push stage is reported while the waves run, not during verify
        self.result = PushResult()
        self._tag_ids: dict[str, str] = {}
        # asset ids written since the server last settled: the next wave must not touch them yet
        self._unsettled: set[str] = set()
        # tag id -> (assets that must have it, assets that must not): what verification checks
        self._want: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        self._warned_paused = False
        self._undo_runs: dict[int, bool] = {}  # run id -> is an undo (see _log_run)
        # When the last write was sent or the queues last found empty (time.monotonic()).
        self._quiet_since: float | None = None
        self._verified_from: datetime | None = None
        self._created: set[str] = set()  # values of the tags this push created

    # ----------------------------------------------------------------- settle
    def settle(self) -> None:
        """Let the server finish the background work of the writes sent so far."""
        if not self._unsettled:
            return
        n = len(self._unsettled)
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
        self._unsettled.clear()
        self._quiet_since = time.monotonic()

    def _second_after_settling(self) -> None:
        """Let a second pass since the writes settled: the ``Date`` header counts whole seconds, so the
        server time a verify round starts at is then later than every stamp the settled jobs gave."""
        if self._quiet_since is not None:
            wait = 1.0 - (time.monotonic() - self._quiet_since)
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

    def _before_wave(self, assets: Iterable[str]) -> None:
        if self._unsettled & set(assets):
            self.settle()

    # ------------------------------------------------------------------- tags
    def _ensure_tags(self, values: set[str]) -> None:
        self._created.update(ensure_tags(self.client, self.engine, values, self.run_id, self._tag_ids))

    def _send(self, rows: list[OutboxRow], call: Callable[[], T]) -> tuple[bool, T | None]:
        """One bulk call on behalf of ``rows``: ``(True, answer)``, or ``(False, None)`` with the rows marked.

        A stop request is honoured between calls, never inside one. A lost connection stops the push
        (the rows count an attempt and stay live); a server error only fails this call's rows.
        """
        if self.should_stop():
            raise _Stopped
        try:
            answer = call()
        except NotFound as exc:  # the album or asset is gone on the server: retrying cannot help
            self._failed(rows, exc, dead=True)
            return False, None
        except ServerError as exc:
            self._failed(rows, exc)
            return False, None
        except ConnectionFailed as exc:
            self._failed(rows, exc)
            raise
        self.result.requests += 1
        self._quiet_since = time.monotonic()
        return True, answer

    def _apply_tag_adds(self, rows: list[OutboxRow], note: str | None = None) -> None:
        by_asset: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            if row.asset_id:
                by_asset[row.asset_id].append(row)
        self._before_wave(by_asset)
        groups: dict[frozenset[str], list[str]] = defaultdict(list)
        for asset_id, asset_rows in by_asset.items():
            groups[frozenset(self._tag_ids[r.target] for r in asset_rows)].append(asset_id)
        for tag_set, assets in sorted(groups.items(), key=lambda g: sorted(g[0])):
            for chunk in _chunks(assets, self.settings.chunk_size):
                chunk_rows = [r for a in chunk for r in by_asset[a]]
                ok, _ = self._send(chunk_rows, partial(self.client.tag_assets_bulk, sorted(tag_set), chunk))
                if not ok:
                    continue
                self._unsettled.update(chunk)
                for r in chunk_rows:
                    self._want[self._tag_ids[r.target]][0].add(r.asset_id or "")
                self._done(chunk_rows, note=note)

    def _apply_tag_removes(self, rows: list[OutboxRow], note: str | None = None) -> None:
        self._before_wave(r.asset_id or "" for r in rows)
        by_tag: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            tag_id = self._tag_ids.get(row.target)
            if tag_id is None:  # the tag no longer exists anywhere: nothing to remove
                self._done([row], note="tag already gone")
                continue
            by_tag[tag_id].append(row)
        for tag_id, tag_rows in by_tag.items():
            by_asset = {r.asset_id or "": r for r in tag_rows}
            for chunk in _chunks(list(by_asset), self.settings.chunk_size):
                chunk_rows = [by_asset[a] for a in chunk]
                ok, results = self._send(chunk_rows, partial(self.client.untag_assets, tag_id, chunk))
                if not ok or results is None:
                    continue
                self._unsettled.update(chunk)
                # not_found: the asset does not carry the tag (any more): the wanted state holds.
                confirmed = self._per_id(chunk_rows, results, done_errors=("not_found",), note=note)
                # Only what the server confirmed is verified: a refused id is already failed or dead.
                self._want[tag_id][1].update(r.asset_id or "" for r in confirmed)

    # ----------------------------------------------------------------- albums
    def _apply_album(self, rows: list[OutboxRow]) -> None:
        by_target: dict[tuple[str, str], dict[str, OutboxRow]] = defaultdict(dict)
        for row in rows:
            by_target[(row.kind, row.target)][row.asset_id or ""] = row
        for (kind, album_id), by_asset in by_target.items():
            adding = kind == "album_add"
            call = self.client.add_assets_to_album if adding else self.client.remove_assets_from_album
            for chunk in _chunks(list(by_asset), self.settings.chunk_size):
                chunk_rows = [by_asset[a] for a in chunk]
                ok, results = self._send(chunk_rows, partial(call, album_id, chunk))
                if ok and results is not None:
                    self._per_id(chunk_rows, results, done_errors=("duplicate",) if adding else ("not_found",))

    # ------------------------------------------------ albums named by name
    def _albums_by_name(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        """``album_add`` to ``name:<album name>``: to the owned album of that name, created if missing."""
        resolved, failed = resolve_album_names(self.client, self.engine, rows, self.run_id)
        for bad, exc in failed:
            self._failed(bad, exc, dead=True)
        return resolved

    def _delete_created_albums(self, rows: list[OutboxRow]) -> None:
        done, failed = delete_created_albums(self.client, self.engine, rows)
        for bad, exc in failed:
            self._failed(bad, exc, dead=True)
        self._done(done)

    def _delete_created_tags(self, rows: list[OutboxRow]) -> None:
        """After undo's removals were verified: a tag deleted while still in a sidecar comes back."""
        self.settle()
        done, failed = delete_created_tags(self.client, self.engine, rows)
        for bad, exc in failed:
            self._failed(bad, exc, dead=True)
        self._done(done)

    # ------------------------------------------------------------------ dates
    def _apply_dates(self, rows: list[OutboxRow]) -> None:
        self._before_wave(r.asset_id or "" for r in rows)
        groups: dict[tuple[tuple[str, Any], ...], list[OutboxRow]] = defaultdict(list)
        for row in rows:
            groups[tuple(sorted((row.payload or {}).items()))].append(row)
        for payload_items, group in groups.items():
            for i in range(0, len(group), self.settings.chunk_size):
                chunk_rows = group[i : i + self.settings.chunk_size]
                ids = [r.asset_id or "" for r in chunk_rows]
                ok, _ = self._send(chunk_rows, partial(self.client.update_assets, ids, **dict(payload_items)))
                if ok:
                    self._unsettled.update(ids)
                    self._done(chunk_rows)

    # ---------------------------------------------------------- bookkeeping
    def _per_id(
        self,
        rows: list[OutboxRow],
        results: Sequence[BulkIdResult],
        *,
        done_errors: tuple[str, ...],
        note: str | None = None,
    ) -> list[OutboxRow]:
        """Mark each row by its id's result; the rows the server confirmed are returned."""
        by_id = {r.id: r for r in results}
        ok: list[OutboxRow] = []
        for row in rows:
            res = by_id.get(row.asset_id or "")
            if res is None or res.success or (res.error in done_errors):
                ok.append(row)
            elif res.error == "no_permission":
                # Per id, Immich means the asset, not the key: it is someone else's (API-NOTES 1c, 1d).
                needed = "asset.share" if row.kind.startswith("album") else "asset.update"
                message = f"no permission on asset {row.asset_id}: needs {needed} on it (is it another user's?)"
                self._failed([row], PermissionDenied(message, permission=needed), dead=True)
            else:
                self._failed(
                    [row], ApiError(f"Immich answered {res.error} for asset {row.asset_id}"), dead=True
                )
        self._done(ok, note=note)
        return ok

    def _failed(self, rows: list[OutboxRow], exc: Exception, *, dead: bool = False) -> None:
        log.warning("%d mutation(s) failed: %s", len(rows), exc)
        with self.engine.begin() as conn:
            mark_failed(conn, [r.id for r in rows if r.id], str(exc), dead=dead)
        if dead:
            self.result.dead += len(rows)
        else:
            self.result.failed += len(rows)
        self._tick()

    def _tick(self) -> None:
        """The push stage moves after every request (confirmed or failed), not once per wave."""
        if self._in_waves:
            r = self.result
            self.progress(self.stage, min(self._total, r.sent + r.failed + r.dead), self._total)

    def _done(self, rows: list[OutboxRow], note: str | None = None) -> None:
        """Confirmed by the server: mark sent, write the effect into the mirror, log the change."""
        if not rows:
            return
        queued = [r.id for r in rows if r.id]  # id 0: a re-applied write, which has no outbox row
        with self.engine.begin() as conn:
            mark_sent(conn, queued)
            apply_to_mirror(conn, rows, self._tag_ids)
            by_run: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                by_run[self._log_run(conn, r.run_id)].append(change_of(r, note))
            for run_id, changes in by_run.items():
                record_changes(conn, run_id, changes)
        self.result.sent += len(queued)
        self._tick()

    def _log_run(self, conn: Connection, row_run: int | None) -> int | None:
        """The run a change is logged under: this push's, except for the rows of an undo another push
        finishes (an interrupted ``undo --yes``, then ``push``): they stay the undo's, or ``undo`` would
        take the push for a run of its own and revert the undo's second half."""
        if row_run is None or row_run == self.run_id:
            return self.run_id
        if row_run not in self._undo_runs:
            undo_of = conn.execute(text("SELECT undo_of FROM runs WHERE id = :r"), {"r": row_run}).scalar()
            self._undo_runs[row_run] = undo_of is not None
        return row_run if self._undo_runs[row_run] else self.run_id

    # ----------------------------------------------------------------- verify
    def _members(self, tag_id: str, read: list[int], expected: int) -> set[str]:
        """The tag's members on the server; ``read`` counts the items read so far in this round."""
        members: set[str] = set()
        for items in self.client.search_assets(
            visibility=None, with_deleted=True, tag_ids=[tag_id], with_exif=False
        ):
            members.update(item["id"] for item in items)
            read[0] += len(items)
            self.progress(VERIFY, read[0], max(expected, read[0]))
        return members

    def _expected_members(self) -> int:
        """How many items verify will read: the mirror's links to the tags it checks (after our writes)."""
        ids = list(self._want)
        with self.engine.connect() as conn:
            marks = ", ".join(f":t{i}" for i in range(len(ids)))
            n = conn.execute(
                text(f"SELECT count(*) FROM asset_tags WHERE tag_id IN ({marks})"),
                {f"t{i}": t for i, t in enumerate(ids)},
            ).scalar()
        return int(n or 0)

    def verify(self) -> None:
        if not self._want:
            return
        value_of = {v: k for k, v in self._tag_ids.items()}
        for round_no in range(1, self.settings.verify_rounds + 1):
            self.settle()
            self.result.rounds = round_no
            lost_adds: list[OutboxRow] = []
            lost_removes: list[OutboxRow] = []
            self._verified_from = None
            self._second_after_settling()
            expected, read = self._expected_members(), [0]
            for tag_id, (present, absent) in self._want.items():
                members = self._members(tag_id, read, expected)
                if self._verified_from is None:
                    # The server's clock as this round began reading: every asset stamp before it is a
                    # change this round saw the result of (the next sync trusts those, push_verified).
                    self._verified_from = self.client.last_server_date or datetime.now(UTC)
                value = value_of.get(tag_id, tag_id)
                lost_adds += [_synthetic("tag_add", value, a) for a in sorted(present - members)]
                lost_removes += [_synthetic("tag_remove", value, a) for a in sorted(absent & members)]
            self.progress(VERIFY, read[0], read[0])  # the round is over, whatever the mirror expected
            lost = len(lost_adds) + len(lost_removes)
            if round_no == 1:
                self.result.writes_lost = lost
            if not lost:
                self.result.still_lost = 0
                return
            if round_no == self.settings.verify_rounds:
                self.result.still_lost = lost
                self._record_lost(lost_adds + lost_removes)
                return
            log.info("verify round %d: %d write(s) lost by the server, re-applying", round_no, lost)
            self.result.writes_reapplied += lost
            self._reapply(lost_adds, lost_removes)

    def _reapply(self, adds: list[OutboxRow], removes: list[OutboxRow]) -> None:
        # The same waves as the first pass (they settle between themselves), logged as re-applied.
        note = "re-applied after a lost write"
        if adds:
            self._apply_tag_adds(adds, note=note)
        if removes:
            self._apply_tag_removes(removes, note=note)

    def _record_lost(self, rows: list[OutboxRow]) -> None:
        """Make the mirror say what the server has, so the next plan asks for these again."""
        inverse = [
            _synthetic("tag_remove" if r.kind == "tag_add" else "tag_add", r.target, r.asset_id) for r in rows
        ]
        with self.engine.begin() as conn:
            apply_to_mirror(conn, inverse, self._tag_ids)
            record_changes(
                conn,
                self.run_id,
                [{**change_of(r, "still lost after the last verify round"), "after": None} for r in rows],
            )

    def _record_moved_tags(self) -> None:
        """Store what our writes moved (tag records, verified assets), or the next sync would take it for
        someone else's change and read every tag's members again (immich_mirror/sync/pushed.py)."""
        if self._want:
            record_push(self.client, self.engine, self._want, self._verified_from, self._created)

    # -------------------------------------------------------------------- run
    def push(self) -> PushResult:
        with self.engine.connect() as conn:
            rows = live_rows(conn, run_id=self.only_run)
        unknown = [r for r in rows if r.kind not in KNOWN_KINDS]
        if unknown:
            self._failed(unknown, ApiError(f"unknown mutation kind {unknown[0].kind!r}"), dead=True)
        adds = [r for r in rows if r.kind == "tag_add"]
        removes = [r for r in rows if r.kind == "tag_remove"]
        albums = [r for r in rows if r.kind in ALBUM_KINDS]
        dates = [r for r in rows if r.kind in DATE_KINDS]
        self._ensure_tags({r.target for r in adds})
        # The push stage counts the waves' rows; the few tag deletions of an undo come after verify.
        self._total = len([r for r in rows if r.kind != TAG_DELETE])
        self._in_waves = True
        self._tick()  # announced before the first request, which may take a while on a big library
        if albums:
            albums = self._albums_by_name(albums)
        deletes = [r for r in rows if r.kind == ALBUM_DELETE]
        tag_deletes = [r for r in rows if r.kind == TAG_DELETE]
        # Album membership is not in the sidecar, so it cannot race with tag writes: it goes first.
        # Albums the tool created are deleted (undo only) last, once their assets were taken out.
        waves: list[tuple[Callable[[list[OutboxRow]], None], list[OutboxRow]]] = [
            (self._apply_album, albums),
            (self._apply_tag_adds, adds),
            (self._apply_tag_removes, removes),
            (self._apply_dates, dates),
            (self._delete_created_albums, deletes),
        ]
        try:
            for apply, wave in waves:
                if wave:
                    apply(wave)
            self._in_waves = False
            self.progress(self.stage, self._total, self._total)
            self.verify()
            if tag_deletes:  # undo only: tags the tool created, once untagged, settled and verified
                if self.should_stop():
                    raise _Stopped
                self._delete_created_tags(tag_deletes)
            self._record_moved_tags()
        except _Stopped:
            self.result.interrupted = True
        return self.result


def _synthetic(kind: str, target: str, asset_id: str | None) -> OutboxRow:
    return OutboxRow(
        id=0,
        run_id=None,
        kind=kind,
        target=target,
        asset_id=asset_id,
        payload=None,
        before=None,
        reason=None,
        attempts=0,
    )
