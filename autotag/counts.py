"""One count of changes, by kind, for every command that reports one.

The dry run counts the closed plan, ``run`` and ``report`` count the ``changes`` log of a run, and
``undo`` counts what it reverts; they all count the same thing: one per effect on the server
(``kind``, ``target``, asset), creations included: ``album_create``, one per album the pusher creates
for ``name:<album>`` targets, and ``tag_create``, one per tag it creates (a new tag's missing parents
too, as ``PUT /tags`` makes them; autotag.created_tags). A write the pusher had to re-apply is logged twice but is one
change, as undo reverts it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, text

# Display order: what a plan does, then what only undo does.
KINDS = ("tag_create", "tag_add", "tag_remove", "album_create", "album_add", "set_date", "album_remove",
         "album_delete", "tag_delete")
CREATIONS = ("album_create", "tag_create")  # made by the pusher on the way, not plan rows of their own
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


def describe(counts: Mapping[str, int]) -> str:
    """``2019 change(s) (tag_add 1374, album_add 99, album_create 88, set_date 458)``."""
    kinds = ordered(counts)
    total = sum(kinds.values())
    detail = " (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")" if total else ""
    return f"{total} change(s){detail}"


def breakdown(counts: Mapping[str, int]) -> str:
    """``2019 (tag_add 1374, album_add 99, ...)``: the total, and by kind when there is any."""
    kinds = ordered(counts)
    total = sum(kinds.values())
    return f"{total} (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")" if total else "0"


def plan_counts(conn: Connection, source: str) -> dict[str, int]:
    """The plan in ``source`` by kind, with the albums its ``name:`` targets will create."""
    counts = {str(k): int(n) for k, n in conn.execute(text(f"SELECT kind, count(*) FROM {source} GROUP BY kind"))}
    created = conn.execute(
        text(
            f"SELECT count(DISTINCT target) FROM {source} "
            f"WHERE kind = 'album_add' AND substr(target, 1, {len(NAME_PREFIX)}) = '{NAME_PREFIX}'"
        )
    ).scalar()
    if created:
        counts["album_create"] = int(created)
    known = {str(v) for (v,) in conn.execute(text("SELECT value FROM tags"))}
    wanted = {str(v) for (v,) in conn.execute(text(f"SELECT DISTINCT target FROM {source} WHERE kind = 'tag_add'"))}
    new = {p for v in wanted - known for p in (v, *_ancestors(v))} - known
    if new:
        counts["tag_create"] = len(new)
    return ordered(counts)


def _ancestors(value: str) -> list[str]:
    parts = value.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


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
