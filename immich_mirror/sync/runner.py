"""One sync run: assets, then albums, then tags, then people, recorded in ``sync_runs``.

Order matters: the tag pass re-reads tags for the assets the asset pass found changed, and the album
pass is independent of both. A failure marks the run ``failed`` with the one-line error and re-raises;
everything committed before it stays, and the next run resumes from the last stored watermark.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from immich_mirror.api.client import ImmichClient
from immich_mirror.db.schema import SyncRun
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.sync.albums import sync_albums
from immich_mirror.sync.assets import sync_assets, updated_after
from immich_mirror.sync.context import (
    ProgressFn,
    SyncContext,
    SyncStats,
    get_state,
    no_progress,
    set_state,
)
from immich_mirror.sync.people import sync_people
from immich_mirror.sync.pushed import load_push_verified
from immich_mirror.sync.rows import now_iso
from immich_mirror.sync.tags import PENDING_KEY as TAGS_PENDING_KEY
from immich_mirror.sync.tags import sync_tags


@dataclass
class SyncSummary:
    run_id: int
    mode: str
    stats: SyncStats
    requests: int
    bytes: int
    seconds: float
    server_version: str

    def line(self) -> str:
        s = self.stats

        def part(name: str, c: object) -> str:
            d = asdict(c)  # type: ignore[call-overload]
            return f"{name} +{d['added']} ~{d['changed']} -{d['removed']}"

        return (
            f"sync ({self.mode}): {part('assets', s.assets)}, {part('albums', s.albums)}, "
            f"album links +{s.album_links.added} -{s.album_links.removed}, {part('tags', s.tags)}, "
            f"tag links +{s.tag_links.added} -{s.tag_links.removed}, "
            + (s.people_skipped or f"{part('people', s.people)}, "
               f"people links +{s.people_links.added} -{s.people_links.removed}")
            + "; "
            f"{self.requests} requests, {self.seconds:.1f} s"
        )


def _start_run(engine: Engine, mode: str, version: str) -> int:
    with engine.begin() as conn:
        run_id = conn.execute(
            text(
                "INSERT INTO sync_runs(started_at, mode, status, server_version) "
                "VALUES (:t, :m, 'running', :v) "
                "RETURNING id"
            ),
            {"t": now_iso(), "m": mode, "v": version},
        ).scalar_one()
    return int(run_id)


def _finish_run(
    engine: Engine,
    run_id: int,
    stats: SyncStats,
    requests: int,
    nbytes: int,
    error: str | None,
    status: str | None = None,
) -> None:
    values = {
        "id": run_id,
        "t": now_iso(),
        "status": status or ("failed" if error else "ok"),
        "error": error,
        "requests": requests,
        "bytes": nbytes,
    }
    for entity in ("assets", "albums", "album_links", "tags", "tag_links"):
        for kind, count in asdict(getattr(stats, entity)).items():
            values[f"{entity}_{kind}"] = count
    # Links have no "changed" count: a link exists or it does not.
    cols = [
        k
        for k in values
        if k in SyncRun.__table__.columns and k not in ("id", "status", "error", "requests", "bytes")
    ]
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE sync_runs SET finished_at = :t, status = :status, error = :error, "
                f"requests = :requests, "
                f"bytes = :bytes, {sets} WHERE id = :id"
            ),
            values,
        )


def run_sync(
    client: ImmichClient,
    engine: Engine,
    *,
    full: bool = False,
    include_partners: bool = False,
    progress: ProgressFn = no_progress,
) -> SyncSummary:
    started = time.monotonic()
    req0, bytes0 = client.requests, client.bytes_received
    version = client.server_version()
    owner_id = client.me().id
    mode = "full" if full else "incremental"
    run_id = _start_run(engine, mode, str(version))
    ctx = SyncContext(
        client=client,
        engine=engine,
        run_id=run_id,
        full=full,
        owner_id=owner_id,
        include_partners=include_partners,
        progress=progress,
    )
    since = updated_after(ctx)
    with engine.begin() as conn:
        # Rules scope assets to the key's owner in SQL, so the owner must live in the DB itself.
        set_state(conn, "owner_id", owner_id)
        set_state(conn, "server_version", str(version))
        # The last sync stopped between its asset pass and the end of its tag pass: the assets whose
        # tags changed then are no longer "changed" now, so re-read every tag's members this time.
        tags_pending = get_state(conn, TAGS_PENDING_KEY) == "1"
        set_state(conn, TAGS_PENDING_KEY, "1")
        pushed = None if full else load_push_verified(conn)
    if pushed is not None:
        ctx.pushed_before, ctx.pushed = pushed
    try:
        # The server's clock (HTTP Date), not ours: watermarks are compared with its updatedAt.
        server_now = client.last_server_date or datetime.now(UTC)
        sync_assets(ctx, since, server_now)
        sync_albums(ctx, since)
        sync_tags(ctx, None if tags_pending else since)
        sync_people(ctx)
    except KeyboardInterrupt:  # Ctrl-C: no failure, every page read so far is stored; the next sync goes on
        _finish_run(engine, run_id, ctx.stats, client.requests - req0, client.bytes_received - bytes0, None,
                    "interrupted")
        raise
    except BaseException as exc:  # a known error or a bug: record it, then let it propagate
        error = exc.message if isinstance(exc, ImmichMirrorError) else f"{type(exc).__name__}: {exc}"
        _finish_run(engine, run_id, ctx.stats, client.requests - req0, client.bytes_received - bytes0, error)
        raise
    requests = client.requests - req0
    nbytes = client.bytes_received - bytes0
    _finish_run(engine, run_id, ctx.stats, requests, nbytes, None)
    return SyncSummary(run_id, mode, ctx.stats, requests, nbytes, time.monotonic() - started, str(version))
