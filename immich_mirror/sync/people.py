"""The people pass: the people list every run; a person's assets re-read only when its record moved.

Immich names who is in a photo through people (face clusters, ``GET /api/people``) and finds the
assets of a person with ``POST /search/metadata {personIds: [id]}``. The list is one request per 1,000
people; walking a person's assets costs a search walk each, so it runs only for a person that is new
or whose record (name, hidden flag, ``updatedAt``, thumbnail) changed, and for every person on
``--full`` or the first sync.

What this cannot see: Immich moves no person record when it recognises that person in a new upload
or when someone reassigns a face, and no asset's ``updatedAt`` either (faces live in their own table).
Those links reach the mirror at the next ``sync --full`` (docs/schema.md).

People need the key's ``person.read``: without it the pass is skipped (``stats.people_skipped`` says
why) and the mirror's people stay as they were.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from immich_mirror.api.models import Person
from immich_mirror.errors import PermissionDenied
from immich_mirror.sync.context import SyncContext, get_state, set_state
from immich_mirror.sync.rows import dump, ts

# "1" once a people pass finished: before that every person's assets are read.
DONE_KEY = "people.synced"

_UPSERT = text(
    "INSERT INTO people (id, name, is_hidden, updated_at, raw) VALUES (:id, :name, :is_hidden, :updated_at, :raw) "
    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, is_hidden = excluded.is_hidden, "
    "updated_at = excluded.updated_at, raw = excluded.raw"
)


def _row(person: Person, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "is_hidden": person.is_hidden,
        "updated_at": ts(person.updated_at),
        "raw": dump(item).decode(),
    }


def _upsert(ctx: SyncContext, people: list[tuple[Person, dict[str, Any]]], everything: bool) -> list[str]:
    """Write the list into the mirror; returns the ids whose assets must be (re-)read."""
    with ctx.engine.begin() as conn:
        known = {r[0]: r[1] for r in conn.execute(text("SELECT id, raw FROM people"))}
        server = {p.id for p, _ in people}
        gone = set(known) - server
        for person_id in gone:
            conn.execute(text("DELETE FROM people WHERE id = :p"), {"p": person_id})  # cascades asset_people
        ctx.stats.people.removed += len(gone)
        walk: list[str] = []
        for person, item in people:
            row = _row(person, item)
            if person.id not in known:
                ctx.stats.people.added += 1
            elif known[person.id] != row["raw"]:
                ctx.stats.people.changed += 1
            elif not everything:
                continue
            conn.execute(_UPSERT, row)
            walk.append(person.id)
    return walk


def _replace_links(ctx: SyncContext, person_id: str, assets: set[str]) -> None:
    with ctx.engine.begin() as conn:
        current = {
            r[0]
            for r in conn.execute(text("SELECT asset_id FROM asset_people WHERE person_id = :p"), {"p": person_id})
        }
        removed, added = current - assets, assets - current
        if removed:
            conn.exec_driver_sql(
                "DELETE FROM asset_people WHERE asset_id = ? AND person_id = ?", [(a, person_id) for a in removed]
            )
        if added:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO asset_people(asset_id, person_id) VALUES (?, ?)",
                [(a, person_id) for a in added],
            )
    ctx.stats.people_links.added += len(added)
    ctx.stats.people_links.removed += len(removed)


def sync_people(ctx: SyncContext) -> None:
    try:
        people = ctx.client.list_people()
    except PermissionDenied as exc:
        # A key made for tags and albums only: people are optional, the rest of the sync is not.
        ctx.stats.people_skipped = f"people skipped (the API key lacks {exc.permission or 'person.read'})"
        return
    with ctx.engine.connect() as conn:
        everything = ctx.full or get_state(conn, DONE_KEY) != "1"
    walk = _upsert(ctx, people, everything)
    ctx.progress("people", 0, len(walk))
    for done, person_id in enumerate(walk, 1):
        assets: set[str] = set()
        for items in ctx.client.search_assets(
            visibility=None, with_deleted=True, person_ids=[person_id], with_exif=False
        ):
            assets.update(i["id"] for i in items if ctx.keeps(i.get("ownerId")))
        _replace_links(ctx, person_id, assets)
        ctx.progress("people", done, len(walk))
    with ctx.engine.begin() as conn:
        set_state(conn, DONE_KEY, "1")
