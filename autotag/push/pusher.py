"""The bulk apply: the outbox's live rows as waves of bulk calls (albums, tag additions, tag removals,
dates, then an undo's deletions of albums and tags the tool created), each row marked by what the server
answered. See the package docstring for why the waves are combined, spaced and verified.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text

from autotag.created_tags import delete_created_tags, ensure_tags
from autotag.effects import apply_to_mirror, change_of
from autotag.features.album_create import delete_created_albums, resolve_album_names
from autotag.outbox import MAX_ATTEMPTS, OutboxRow, live_rows, mark_failed, mark_sent, record_changes
from autotag.progress import Progress, no_progress
from autotag.push.result import PushResult, PushSettings
from autotag.push.settle import Settler
from autotag.push.verify import Verifier
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.models import BulkIdResult
from immich_mirror.errors import ApiError, ConnectionFailed, NotFound, PermissionDenied, ServerError

log = logging.getLogger(__name__)
T = TypeVar("T")

TAG_KINDS = ("tag_add", "tag_remove")
ALBUM_KINDS = ("album_add", "album_remove")
DATE_KINDS = ("set_date",)
ALBUM_DELETE = "album_delete"  # undo of an album the tool created (autotag/features/album_create.py)
TAG_DELETE = "tag_delete"  # undo of a tag the tool created (autotag/created_tags.py)
KNOWN_KINDS = TAG_KINDS + ALBUM_KINDS + DATE_KINDS + (ALBUM_DELETE, TAG_DELETE)


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
        self.should_stop = should_stop
        self.progress = progress
        self.stage = stage  # the name the person sees: "push", or "undo" when undoing
        self._total = 0  # rows of this push: what the push stage counts up to
        self._in_waves = False  # the push stage is reported while the waves run, not during verify
        self.result = PushResult()
        self._tag_ids: dict[str, str] = {}
        self.settler = Settler(client, self.settings, sleep=sleep, progress=progress)
        self.verifier = Verifier(
            client, engine, self.settings, self.settler, self.result, self._tag_ids, run_id=run_id, progress=progress
        )
        self._undo_runs: dict[int, bool] = {}  # run id -> is an undo (see _log_run)
        self._created: set[str] = set()  # values of the tags this push created

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
        self.settler.quiet_since = time.monotonic()
        return True, answer

    def _apply_tag_adds(self, rows: list[OutboxRow], note: str | None = None) -> None:
        by_asset: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            if row.asset_id:
                by_asset[row.asset_id].append(row)
        self.settler.before_wave(by_asset)
        groups: dict[frozenset[str], list[str]] = defaultdict(list)
        for asset_id, asset_rows in by_asset.items():
            groups[frozenset(self._tag_ids[r.target] for r in asset_rows)].append(asset_id)
        for tag_set, assets in sorted(groups.items(), key=lambda g: sorted(g[0])):
            for chunk in _chunks(assets, self.settings.chunk_size):
                chunk_rows = [r for a in chunk for r in by_asset[a]]
                ok, _ = self._send(chunk_rows, partial(self.client.tag_assets_bulk, sorted(tag_set), chunk))
                if not ok:
                    continue
                self.settler.unsettled.update(chunk)
                for r in chunk_rows:
                    self.verifier.want[self._tag_ids[r.target]][0].add(r.asset_id or "")
                self._done(chunk_rows, note=note)

    def _apply_tag_removes(self, rows: list[OutboxRow], note: str | None = None) -> None:
        self.settler.before_wave(r.asset_id or "" for r in rows)
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
                self.settler.unsettled.update(chunk)
                # not_found: the asset does not carry the tag (any more): the wanted state holds.
                confirmed = self._per_id(chunk_rows, results, done_errors=("not_found",), note=note)
                # Only what the server confirmed is verified: a refused id is already failed or dead.
                self.verifier.want[tag_id][1].update(r.asset_id or "" for r in confirmed)

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
        self._refused(failed)
        return resolved

    def _delete_created_albums(self, rows: list[OutboxRow]) -> None:
        done, failed = delete_created_albums(self.client, self.engine, rows)
        self._refused(failed)
        self._deleted(done)

    def _deleted(self, rows: list[OutboxRow]) -> None:
        """Confirmed deletions of what the tool created: logged like any change, counted apart from them."""
        self._done(rows)
        self.result.sent -= len(rows)
        self.result.deleted += len(rows)

    def _delete_created_tags(self, rows: list[OutboxRow]) -> None:
        """After undo's removals were verified: a tag deleted while still in a sidecar comes back."""
        self.settler.settle()
        done, failed = delete_created_tags(self.client, self.engine, rows)
        self._refused(failed)
        self._deleted(done)

    # ------------------------------------------------------------------ dates
    def _apply_dates(self, rows: list[OutboxRow]) -> None:
        self.settler.before_wave(r.asset_id or "" for r in rows)
        groups: dict[tuple[tuple[str, Any], ...], list[OutboxRow]] = defaultdict(list)
        for row in rows:
            groups[tuple(sorted((row.payload or {}).items()))].append(row)
        for payload_items, group in groups.items():
            for i in range(0, len(group), self.settings.chunk_size):
                chunk_rows = group[i : i + self.settings.chunk_size]
                ids = [r.asset_id or "" for r in chunk_rows]
                ok, _ = self._send(chunk_rows, partial(self.client.update_assets, ids, **dict(payload_items)))
                if ok:
                    self.settler.unsettled.update(ids)
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

    def _refused(self, failures: Iterable[tuple[list[OutboxRow], Exception]]) -> None:
        """Rows that cannot succeed however often they are sent (a name or an ownership refused): dead."""
        for rows, exc in failures:
            self._failed(rows, exc, dead=True)

    def _failed(self, rows: list[OutboxRow], exc: Exception, *, dead: bool = False) -> None:
        log.warning("%d mutation(s) failed: %s", len(rows), exc)
        with self.engine.begin() as conn:
            mark_failed(conn, [r.id for r in rows if r.id], str(exc), dead=dead)
        # A row out of attempts is dead as surely as one the server refused: it is never retried either.
        # A write verify re-sends has no outbox row (id 0): if it fails it stays lost, and the next verify
        # round counts it there (still_lost); counted here too it would point at dead rows that do not exist.
        queued = [r for r in rows if r.id]
        exhausted = 0 if dead else sum(1 for r in queued if r.attempts + 1 >= MAX_ATTEMPTS)
        self.result.dead += len(queued) if dead else exhausted
        self.result.failed += 0 if dead else len(queued) - exhausted
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

    def _reapply(self, adds: list[OutboxRow], removes: list[OutboxRow]) -> None:
        # The same waves as the first pass (they settle between themselves), logged as re-applied.
        note = "re-applied after a lost write"
        if adds:
            self._apply_tag_adds(adds, note=note)
        if removes:
            self._apply_tag_removes(removes, note=note)

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
        # The push stage counts the changes, as the run lists do: not an undo's deletions of the albums and
        # tags its run created (the tags' come after verify anyway).
        self._total = len([r for r in rows if r.kind not in (TAG_DELETE, ALBUM_DELETE)])
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
            self.verifier.verify(self._reapply)
            if tag_deletes:  # undo only: tags the tool created, once untagged, settled and verified
                if self.should_stop():
                    raise _Stopped
                self._delete_created_tags(tag_deletes)
            self.verifier.record_moved_tags(self._created)
        except _Stopped:
            self.result.interrupted = True
        return self.result

