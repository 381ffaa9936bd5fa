"""One count of changes, by kind, for every command that reports one.

The dry run counts the closed plan, ``run`` and ``report`` count the ``changes`` log of a run, and
``undo`` counts what it reverts; they all count the same thing: one change per effect on an asset
(``kind``, ``target``, asset; a write the pusher had to re-apply is logged twice but is one change, as
undo reverts it once), and beside that total, by kind, the creations: ``album_create``, one per album
the pusher creates for ``name:<album>`` targets, and ``tag_create``, one per tag it creates (a new
tag's missing parents too, as ``PUT /tags`` makes them; autotag.created_tags). An undo counts the
same way: its changes are the run's changes reverted, and the albums and tags it deletes (``album_delete``,
``tag_delete``) are the run's creations, beside the total, never in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, text

from autotag.created_tags import ancestors

# Display order: what a plan does, then what only undo does.
KINDS = ("tag_create", "tag_add", "tag_remove", "album_create", "album_add", "set_date", "album_remove",
         "album_delete", "tag_delete")
CREATIONS = ("album_create", "tag_create")  # made by the pusher on the way, not plan rows of their own
DELETIONS = ("album_delete", "tag_delete")  # undo of the creations: counted beside the total too
NAME_PREFIX = "name:"  # an album_add target naming an album the pusher creates (autotag.features.album_create)

# The change an undo item reverts (autotag.undo.INVERSE, and album_delete for album_create).
REVERTS = {
    "tag_remove": "tag_add",
    "tag_add": "tag_remove",
    "album_remove": "album_add",
    "album_add": "album_remove",
    "album_delete": "album_create",
    "tag_delete": "tag_create",
    "set_date": "set_date",
}


def ordered(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` without zeros, in ``KINDS`` order (unknown kinds last, by name)."""
    rank = {k: i for i, k in enumerate(KINDS)}
    return {k: int(v) for k, v in sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(KINDS)), kv[0])) if v}


def total(counts: Mapping[str, int]) -> int:
    """The changes to assets: what the push applies and undo reverts; the albums and tags created on the
    way are counted by kind beside it (``autotag.runs`` lists them apart too)."""
    return sum(int(n) for k, n in counts.items() if k not in CREATIONS and k not in DELETIONS)


def _created(kinds: Mapping[str, int], verb: str = "creates") -> str:
    made = [f"{kinds[k]} {k.split('_')[0]}(s)" for k in ("album_create", "tag_create") if kinds.get(k)]
    gone = [f"{kinds[k]} {k.split('_')[0]}(s)" for k in DELETIONS if kinds.get(k)]
    return (f"; {verb} " + ", ".join(made) if made else "") + ("; deletes " + ", ".join(gone) if gone else "")


def breakdown(counts: Mapping[str, int]) -> str:
    """``1908 (tag_add 1363, album_add 89, set_date 456); creates 80 album(s), 3 tag(s)``."""
    kinds = ordered(counts)
    changed = {k: n for k, n in kinds.items() if k not in CREATIONS and k not in DELETIONS}
    detail = " (" + ", ".join(f"{k} {n}" for k, n in changed.items()) + ")" if changed else ""
    return f"{total(kinds)}{detail}{_created(kinds)}"


def describe(counts: Mapping[str, int], verb: str = "creates") -> str:
    """``1908 change(s) (tag_add 1363, album_add 89, set_date 456); creates 80 album(s), 3 tag(s)``
    (``verb``: what is done to the creations, e.g. undo's "deletes what it created:")."""
    kinds = ordered(counts)
    changed = {k: n for k, n in kinds.items() if k not in CREATIONS and k not in DELETIONS}
    detail = " (" + ", ".join(f"{k} {n}" for k, n in changed.items()) + ")" if changed else ""
    return f"{total(kinds)} change(s){detail}{_created(kinds, verb)}"


def plan_counts(conn: Connection, source: str, *, by_kind: Mapping[str, int] | None = None) -> dict[str, int]:
    """The plan in ``source`` by kind (``by_kind``: counted already), with the albums its ``name:`` targets
    will create and the tags its additions will."""
    if by_kind is None:
        by_kind = {str(k): int(n) for k, n in conn.execute(text(f"SELECT kind, count(*) FROM {source} GROUP BY kind"))}
    counts = dict(by_kind)
    created = conn.execute(
        text(
            f"SELECT count(DISTINCT target) FROM {source} "
            f"WHERE kind = 'album_add' AND substr(target, 1, {len(NAME_PREFIX)}) = '{NAME_PREFIX}'"
        )
    ).scalar() if counts.get("album_add") else 0
    if created:
        counts["album_create"] = int(created)
    if counts.get("tag_add"):
        known = {str(v) for (v,) in conn.execute(text("SELECT value FROM tags"))}
        sql = f"SELECT DISTINCT target FROM {source} WHERE kind = 'tag_add'"
        wanted = {str(v) for (v,) in conn.execute(text(sql))}
        new = {p for v in wanted - known for p in (v, *ancestors(v))} - known
        if new:
            counts["tag_create"] = len(new)
    return ordered(counts)


def run_counts(conn: Connection, run_id: int) -> dict[str, int]:
    """The changes a run made (its ``changes`` rows that took effect), one per effect."""
    rows = conn.execute(
        text(
            "SELECT kind, count(*) FROM (SELECT DISTINCT kind, target, asset_id FROM changes "
            "WHERE run_id = :r AND after IS NOT NULL) GROUP BY kind"
        ),
        {"r": run_id},
    )
    return ordered({str(k): int(n) for k, n in rows})


def reverted_counts(kinds: Iterable[str]) -> dict[str, int]:
    """Undo items (their inverse kinds) counted by the change each reverts."""
    counts: dict[str, int] = {}
    for kind in kinds:
        original = REVERTS.get(kind, kind)
        counts[original] = counts.get(original, 0) + 1
    return ordered(counts)


def as_reverted(undo_counts: Mapping[str, int]) -> dict[str, int]:
    """An undo run's own changes by kind (``run_counts``) counted by the change each reverts, so that
    they read as the run's: ``tag_remove`` 3 -> ``tag_add`` 3, ``album_delete`` 2 -> ``album_create`` 2."""
    counts: dict[str, int] = {}
    for kind, n in undo_counts.items():
        original = REVERTS.get(kind, kind)
        counts[original] = counts.get(original, 0) + int(n)
    return ordered(counts)
