"""Tags the tool creates, and the only tags undo deletes.

``ensure_tags`` finds the id of every tag value a push is about to add. A value the mirror does not
know is looked up in the server's tag list (the mirror may be behind) and, if the server lacks it
too, upserted (``PUT /tags``), which also creates its missing parents (``pets`` for ``pets/cat``).
Every tag that did not exist before, leaf or parent, goes into the mirror, into ``created_tags`` and
into the ``changes`` log as ``tag_create`` (target the tag id, ``after`` its value), so that undo
knows it.

``tag_delete`` (queued by undo for a ``tag_create``) deletes a tag only if ``created_tags`` lists it
and, read from the server once undo's removals were sent, settled and verified, it is on no asset
(a search by the tag, which also matches the tags below it) and every tag below it is one this wave
deletes first (``DELETE /tags/{id}`` takes the subtree with it). Untag first, then delete: a tag
deleted while it still sits in the sidecars comes back on the next metadata refresh (API-NOTES 0b).
A tag that is still used is kept and its row fails, naming the tag.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, text

from autotag.outbox import OutboxRow, record_changes
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.models import Tag
from immich_mirror.errors import ApiError, NotFound
from immich_mirror.sync.rows import now_iso
from immich_mirror.sync.tags import record_tags

log = logging.getLogger(__name__)

Failure = tuple[list[OutboxRow], Exception]


def ancestors(value: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``: the parents ``PUT /tags`` creates along with a value."""
    parts = value.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _store(conn: Connection, tags: Iterable[Tag]) -> None:
    """Write tag records into the mirror; a stale row holding the same value under another id goes."""
    tags = list(tags)
    for tag in tags:
        conn.execute(text("DELETE FROM tags WHERE value = :v AND id <> :i"), {"v": tag.value, "i": tag.id})
    record_tags(conn, tags)


def ensure_tags(
    client: ImmichClient, engine: Engine, values: Iterable[str], run_id: int | None, known: dict[str, str]
) -> list[str]:
    """Make ``known`` (tag value -> id) hold every value of ``values``, creating what the server lacks;
    returns the values of the tags created (parents included)."""
    with engine.connect() as conn:
        known.update({str(v): str(i) for v, i in conn.execute(text("SELECT value, id FROM tags"))})
    missing = sorted({v for v in values if v not in known})
    if not missing:
        return []
    # The server's list decides what is new: the mirror may not have seen a tag the user just made.
    before = {t.value: t for t in client.list_tags()}
    found = [before[v] for v in missing if v in before]
    to_create = [v for v in missing if v not in before]
    new: list[Tag] = []
    if to_create:
        leaves = client.upsert_tags(to_create)
        wanted = {v for value in to_create for v in (value, *ancestors(value))} - set(before)
        new = [t for t in leaves if t.value in wanted]
        if wanted - {t.value for t in new}:  # new parents: PUT /tags answers with the leaves only
            new = [t for t in client.list_tags() if t.value in wanted]
    with engine.begin() as conn:
        _store(conn, found + new)
        if new:
            now = now_iso()
            conn.execute(
                text("INSERT OR REPLACE INTO created_tags (tag_id, value, created_at, run_id) VALUES (:i, :v, :t, :r)"),
                [{"i": t.id, "v": t.value, "t": now, "r": run_id} for t in new],
            )
            record_changes(
                conn,
                run_id,
                [
                    {"outbox_id": None, "asset_id": None, "kind": "tag_create", "target": t.id, "before": None,
                     "after": t.value, "note": None}
                    for t in sorted(new, key=lambda t: t.value)
                ],
            )
    for tag in found + new:
        known[tag.value] = tag.id
    for tag in sorted(new, key=lambda t: t.value):
        log.info("created tag %r (%s)", tag.value, tag.id)
    return [t.value for t in new]


def _members(client: ImmichClient, tag_id: str) -> int:
    """Assets carrying the tag or a tag below it (trashed ones too: restoring them brings it back)."""
    seen: set[str] = set()
    for page in client.search_assets(visibility=None, with_deleted=True, tag_ids=[tag_id], with_exif=False):
        seen.update(str(item["id"]) for item in page)
    return len(seen)


def delete_created_tags(
    client: ImmichClient, engine: Engine, rows: Sequence[OutboxRow]
) -> tuple[list[OutboxRow], list[Failure]]:
    """Delete the tags of ``tag_delete`` rows that the tool created and nothing uses; refuse any other."""
    with engine.connect() as conn:
        ours = {
            str(i): str(v)
            for i, v in conn.execute(text("SELECT tag_id, value FROM created_tags WHERE deleted_at IS NULL"))
        }
    server = {t.id: t for t in client.list_tags()}
    done: list[OutboxRow] = []
    failed: list[Failure] = []

    def depth(row: OutboxRow) -> int:
        value = ours.get(row.target) or (server[row.target].value if row.target in server else "")
        return -value.count("/")

    for row in sorted(rows, key=depth):  # the deepest first: a parent is empty of tags only after its children
        if row.target not in ours:
            failed.append(([row], ApiError(f"tag {row.target} was not created by autotag: not deleted")))
            continue
        tag = server.get(row.target)
        try:
            if tag is not None:
                below = sorted(t.value for t in server.values() if t.value.startswith(tag.value + "/"))
                if below:
                    failed.append(([row], ApiError(f'tag "{tag.value}" has the tag "{below[0]}" below it: kept')))
                    continue
                used = _members(client, tag.id)
                if used:
                    failed.append(([row], ApiError(
                        f'tag "{tag.value}" is on {used} asset(s) autotag did not tag in that run: kept'
                    )))
                    continue
                client.delete_tag(tag.id)
        except NotFound:
            pass  # already gone: the wanted state holds
        except ApiError as exc:
            failed.append(([row], exc))
            continue
        server.pop(row.target, None)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tags WHERE id = :t"), {"t": row.target})
            conn.execute(
                text("UPDATE created_tags SET deleted_at = :t WHERE tag_id = :i"), {"t": now_iso(), "i": row.target}
            )
        log.info("deleted tag %r (%s), created by autotag", ours[row.target], row.target)
        done.append(row)
    return done, failed
