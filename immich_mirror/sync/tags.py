"""The tag pass: the tag list every run; asset-tag links re-read for assets or tags that changed.

Immich reports an asset's tags only in ``GET /assets/{id}``. Searching ``tagIds:[t]`` returns the
assets tagged ``t`` *or any descendant of t*. The mirror keeps *direct* links (``asset_tags``) and
derives them per asset from the set ``M`` of tags whose search matched it: ``t`` is direct when no
child of ``t`` is also in ``M``. The one case this cannot tell apart is an asset tagged with both a
tag and one of its descendants; it is recorded with the descendant only (docs/schema.md).

A tag write reaches the asset's ``updatedAt`` once the server's jobs ran (API-NOTES 0b), so the asset
pass knows which assets may have new tags. For a handful the exact ``tags[]`` of ``GET /assets/{id}``
is cheapest; for more, one search per tag restricted with the same ``updatedAfter``. The write moves
the tag's own ``updatedAt`` at once, and it is the only trace of a write to an asset whose sidecar
Immich cannot write (a read-only external library): a tag whose record moved has its members read in
full and compared with the mirror (``_drift``). A full refresh
(one search per tag, no date filter) runs on ``--full``, on the first sync, and whenever the tag tree
itself changed (a tag created, deleted or moved), since that changes what "direct" means.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, text

from immich_mirror.api.models import Tag
from immich_mirror.errors import NotFound
from immich_mirror.sync.context import SyncContext, get_state, set_state
from immich_mirror.sync.rows import tag_row

FEW_ASSETS = 20
TREE_KEY = "tags.tree"
# "1" from the start of a sync until its tag pass finished: the assets whose tags must be re-read are
# known only in memory (``ctx.changed_assets``), so a sync that stopped in between (a fault, a kill)
# leaves them unknown, and the next sync re-reads every tag's members instead.
PENDING_KEY = "tags.pending"

_UPSERT = text(
    "INSERT INTO tags (id, value, name, parent_id, color, created_at, updated_at, raw) "
    "VALUES (:id, :value, :name, :parent_id, :color, :created_at, :updated_at, :raw) "
    "ON CONFLICT(id) DO UPDATE SET value = excluded.value, name = excluded.name, "
    "parent_id = excluded.parent_id, color = excluded.color, updated_at = excluded.updated_at, "
    "raw = excluded.raw"
)


def record_tags(conn: Connection, tags: Iterable[Tag]) -> None:
    """Store tag records as the server has them now (the pusher, after its own writes moved them: the
    next sync then has no reason to re-read those tags' members)."""
    for tag in tags:
        conn.execute(_UPSERT, tag_row(tag))


def own_new_tags(conn: Connection, server: list[Tag], created: Iterable[str]) -> list[Tag]:
    """The pusher created the tags ``created`` (their values), and Immich their missing parents.

    When the server's tag tree differs from the one the last sync stored only by those tags, they are
    the tool's own: they are returned (to be stored) and the stored tree becomes the server's, so the
    next sync does not read every tag's members as it does after a foreign change to the tree. A new
    tag has no member but what the tool wrote, so what "direct" means for every other link is unchanged.
    """
    old = get_state(conn, TREE_KEY)
    if old is None:
        return []
    wanted = set(created)
    before = set(old.split(";")) if old else set()
    after = {f"{t.id}>{t.parent_id or ''}" for t in server}
    added_ids = {entry.split(">", 1)[0] for entry in after - before}
    new = [t for t in server if t.id in added_ids]
    own = all(any(v == t.value or v.startswith(t.value + "/") for v in wanted) for t in new)
    if before - after or not own:
        return []
    set_state(conn, TREE_KEY, _tree_signature(server))
    return new


def _tree_signature(tags: Iterable[Tag]) -> str:
    return ";".join(sorted(f"{t.id}>{t.parent_id or ''}" for t in tags))


def direct_tags(matched: set[str], children: dict[str, set[str]]) -> set[str]:
    return {t for t in matched if not (children.get(t, set()) & matched)}


def _upsert_tags(ctx: SyncContext, tags: list[Tag]) -> set[str]:
    """Write the tag list into the mirror; returns the ids of known tags whose record moved."""
    server = {t.id: t for t in tags}
    with ctx.engine.begin() as conn:
        known = {r[0]: r[1] for r in conn.execute(text("SELECT id, raw FROM tags"))}
        gone = set(known) - set(server)
        for tag_id in gone:
            conn.execute(text("DELETE FROM tags WHERE id = :t"), {"t": tag_id})  # cascades asset_tags
        ctx.stats.tags.removed += len(gone)
        # A value freed by a deleted or renamed tag may be taken by another id in the same run: clear
        # the rows that will be rewritten first so the UNIQUE(value) index never sees two at once.
        moving = [t for t in tags if t.id in known and known[t.id] != tag_row(t)["raw"]]
        for tag in moving:
            conn.execute(text("UPDATE tags SET value = '#moving#' || id WHERE id = :t"), {"t": tag.id})
        moved: set[str] = set()
        for tag in tags:
            row = tag_row(tag)
            if tag.id not in known:
                ctx.stats.tags.added += 1
            elif known[tag.id] != row["raw"]:
                ctx.stats.tags.changed += 1
                moved.add(tag.id)
            else:
                continue
            conn.execute(_UPSERT, row)
    return moved


def _drift(ctx: SyncContext, moved: set[str], children: dict[str, set[str]]) -> set[str]:
    """Assets whose membership of a moved tag differs between the server and the mirror.

    Tagging moves the tag's ``updatedAt`` at once, but an asset's only after the sidecar jobs, and
    never for a read-only external library (API-NOTES 0b): so the members of a tag that moved are
    read in full and compared with the mirror's links to the tag and its descendants."""
    drifted: set[str] = set()
    for tag_id in sorted(moved):
        family = [tag_id]
        for member in family:  # the tag and every descendant: what a search by the tag matches
            family.extend(sorted(children.get(member, ())))
        on_server: set[str] = set()
        pages = ctx.client.search_assets(visibility=None, with_deleted=True, tag_ids=[tag_id], with_exif=False)
        for items in pages:
            on_server.update(i["id"] for i in items if ctx.keeps(i.get("ownerId")))
        with ctx.engine.connect() as conn:
            marks = ", ".join("?" for _ in family)
            in_mirror = {
                r[0]
                for r in conn.exec_driver_sql(
                    f"SELECT DISTINCT asset_id FROM asset_tags WHERE tag_id IN ({marks})", tuple(family)
                )
            }
            # Only assets the mirror has: one it lacks is the asset pass's to bring in, links and all.
            known: set[str] = set()
            new = sorted(on_server - in_mirror)
            for i in range(0, len(new), 900):
                chunk = new[i : i + 900]
                known.update(
                    r[0]
                    for r in conn.exec_driver_sql(
                        f"SELECT id FROM assets WHERE id IN ({', '.join('?' for _ in chunk)})", tuple(chunk)
                    )
                )
        drifted |= known | (in_mirror - on_server)
    return drifted


def _matches(ctx: SyncContext, tags: list[Tag], updated_after: datetime | None) -> dict[str, set[str]]:
    """asset id -> ids of the tags whose search returned it."""
    matched: dict[str, set[str]] = defaultdict(set)
    ctx.progress("tags", 0, len(tags))
    for done, tag in enumerate(tags, 1):
        for items in ctx.client.search_assets(
            visibility=None, with_deleted=True, tag_ids=[tag.id], updated_after=updated_after, with_exif=False
        ):
            for item in items:
                if ctx.keeps(item.get("ownerId")):
                    matched[item["id"]].add(tag.id)
        ctx.progress("tags", done, len(tags))
    return matched


def _replace_links(ctx: SyncContext, direct: dict[str, set[str]], everything: bool) -> None:
    """Make the asset_tags rows of the given assets (or of every asset) equal to ``direct``."""
    with ctx.engine.begin() as conn:
        if everything:
            current_rows = conn.execute(text("SELECT asset_id, tag_id FROM asset_tags")).all()
        else:
            current_rows = []
            ids = list(direct)
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                marks = ", ".join("?" for _ in chunk)
                current_rows += conn.exec_driver_sql(
                    f"SELECT asset_id, tag_id FROM asset_tags WHERE asset_id IN ({marks})", tuple(chunk)
                ).all()
        current = {(a, t) for a, t in current_rows}
        wanted = {(a, t) for a, ts in direct.items() for t in ts}
        removed = current - wanted
        added = wanted - current
        if removed:
            conn.exec_driver_sql("DELETE FROM asset_tags WHERE asset_id = ? AND tag_id = ?", list(removed))
        if added:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?, ?)", list(added)
            )
    ctx.stats.tag_links.added += len(added)
    ctx.stats.tag_links.removed += len(removed)


def sync_tags(ctx: SyncContext, updated_after: datetime | None) -> None:
    tags = ctx.client.list_tags()
    moved = _upsert_tags(ctx, tags)
    children: dict[str, set[str]] = defaultdict(set)
    for tag in tags:
        if tag.parent_id:
            children[tag.parent_id].add(tag.id)
    signature = _tree_signature(tags)
    with ctx.engine.connect() as conn:
        tree_changed = get_state(conn, TREE_KEY) != signature
    everything = ctx.full or updated_after is None or tree_changed
    drifted = set() if everything or not moved else _drift(ctx, moved, children)
    # Assets the last push verified and nothing else moved: their tags are the mirror's (sync/pushed.py).
    changed = (ctx.changed_assets | ctx.recent_assets | drifted) - ctx.trusted
    # Members that never showed in the asset pass, more than a handful: only a full read is exact.
    if everything or (drifted and len(changed) > FEW_ASSETS):
        matched = _matches(ctx, tags, None)
        _replace_links(ctx, {a: direct_tags(m, children) for a, m in matched.items()}, everything=True)
    else:
        if len(changed) <= FEW_ASSETS:
            # Exact direct tags, and cheaper than one search per tag for a handful of assets.
            known = {t.id for t in tags}
            direct = {}
            for asset_id in changed:
                try:
                    asset = ctx.client.get_asset(asset_id)
                except NotFound:  # purged since the asset pass: the next reconcile drops it
                    asset = {}
                ids = {t.get("id") for t in asset.get("tags") or [] if isinstance(t, dict)}
                direct[asset_id] = {t for t in ids if t in known}
        else:
            matched = _matches(ctx, tags, updated_after)
            direct = {a: direct_tags(matched.get(a, set()), children) for a in changed | set(matched)}
        if direct:
            _replace_links(ctx, direct, everything=False)
    with ctx.engine.begin() as conn:
        set_state(conn, TREE_KEY, signature)
        set_state(conn, PENDING_KEY, "0")
