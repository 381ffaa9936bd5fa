"""The pusher's side of albums named by name: find or create them, and delete (on undo) only our own.

``album_add`` rows whose target is ``name:<album name>`` are resolved just before the album wave: the
one owned album of that name in the mirror, or a new album (``POST /albums``) that is written into the
mirror, into ``created_albums`` and into the ``changes`` log as ``album_create``. Several owned albums
of that name: the rows fail (dead), naming the problem; the rest of the push goes on. ``album_delete``
(queued by undo) deletes an album only if ``created_albums`` lists it and, read fresh from the server
after undo's removals (the pusher's last wave), it holds no assets: photos the user added since are
never taken out of their album by deleting it; the row fails, naming the album, and the album stays.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import Engine, text

from autotag import derived
from autotag.outbox import OutboxRow, record_changes
from immich_mirror.api.client import ImmichClient
from immich_mirror.errors import ApiError, NotFound
from immich_mirror.sync.rows import album_row, now_iso

log = logging.getLogger(__name__)

NAME_PREFIX = "name:"

Failure = tuple[list[OutboxRow], Exception]


def resolve_album_names(
    client: ImmichClient, engine: Engine, rows: Sequence[OutboxRow], run_id: int | None
) -> tuple[list[OutboxRow], list[Failure]]:
    """``rows`` with every ``name:`` target replaced by an album id, and the rows that could not be."""
    by_name: dict[str, list[OutboxRow]] = defaultdict(list)
    resolved: list[OutboxRow] = []
    for row in rows:
        if row.kind == "album_add" and row.target.startswith(NAME_PREFIX):
            by_name[row.target[len(NAME_PREFIX) :]].append(row)
        else:
            resolved.append(row)
    failed: list[Failure] = []
    for name, group in by_name.items():
        with engine.connect() as conn:
            ids = list(
                conn.execute(
                    text("SELECT id FROM albums WHERE is_owned = 1 AND name = :n ORDER BY id"), {"n": name}
                ).scalars()
            )
        if len(ids) > 1:
            failed.append((group, ApiError(f"several albums are named {name!r}: add the assets by hand")))
            continue
        album_id = ids[0] if ids else None
        if album_id is None:
            try:
                album = client.create_album(name, description="created by autotag")
            except ApiError as exc:
                failed.append((group, exc))
                continue
            album_id = album.id
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT OR IGNORE INTO albums (id, name, description, owner_id, asset_count, created_at, "
                        "updated_at, start_date, end_date, last_modified_asset_timestamp, shared, is_owned, raw) "
                        "VALUES (:id, :name, :description, :owner_id, :asset_count, :created_at, :updated_at, "
                        ":start_date, :end_date, :last_modified_asset_timestamp, :shared, :is_owned, :raw)"
                    ),
                    album_row(album, True),
                )
                derived.refresh(conn, reads=("albums",))  # the views see the new album's name at once
                conn.execute(
                    text("INSERT INTO created_albums (album_id, name, created_at, run_id) VALUES (:a, :n, :t, :r)"),
                    {"a": album_id, "n": name, "t": now_iso(), "r": run_id},
                )
                record_changes(
                    conn,
                    run_id,
                    [{"outbox_id": None, "asset_id": None, "kind": "album_create", "target": album_id,
                      "before": None, "after": name, "note": None}],
                )
            log.info("created album %r (%s)", name, album_id)
        resolved += [replace(r, target=album_id) for r in group]
    return resolved, failed


def delete_created_albums(
    client: ImmichClient, engine: Engine, rows: Sequence[OutboxRow]
) -> tuple[list[OutboxRow], list[Failure]]:
    """Delete the albums of ``album_delete`` rows that the tool created and that are empty; refuse any other.

    Emptiness is read from the server, not the mirror: the user may have added photos since the last sync.
    """
    done: list[OutboxRow] = []
    failed: list[Failure] = []
    for row in rows:
        with engine.connect() as conn:
            ours = conn.execute(
                text("SELECT 1 FROM created_albums WHERE album_id = :a AND deleted_at IS NULL"), {"a": row.target}
            ).first()
        if not ours:
            failed.append(([row], ApiError(f"album {row.target} was not created by autotag: not deleted")))
            continue
        try:
            # After undo's removals (an earlier wave of this push), what is left was put there since.
            album = client.get_album(row.target)
            if album.asset_count:
                failed.append(([row], ApiError(
                    f'album "{album.album_name}" holds {album.asset_count} asset(s) added since autotag '
                    "created it: kept"
                )))
                continue
            client.delete_album(row.target)
        except NotFound:
            pass  # already gone: the wanted state holds
        except ApiError as exc:
            failed.append(([row], exc))
            continue
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM albums WHERE id = :a"), {"a": row.target})
            conn.execute(
                text("UPDATE created_albums SET deleted_at = :t WHERE album_id = :a"), {"t": now_iso(), "a": row.target}
            )
        done.append(row)
    return done, failed
