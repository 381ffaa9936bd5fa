"""The classification materialised once per classify, in the classifying connection only.

The plan reads the classification twice (the markers, then the counts) and the scope a dozen times
(every feature asks ``IN (SELECT asset_id FROM scope_assets)``); as views each read computes them again,
and at 1M assets building the scope set alone costs 0.2 s. SQLite resolves an unqualified name in the
``temp`` schema before ``main``, but a view in ``main`` reads ``main`` only. So ``shadowed`` computes
``classification`` once into a temp table keyed by ``asset_id``, makes ``scope_assets`` the asset ids of
that table (the classification has exactly one row per in-scope asset), and copies every other view
into ``temp`` under its own name and SQL, so that their names find the temp objects first. The mirror's
views are untouched: other connections (``autotag sql``, Datasette) read them as before, and so does
this one once the block ends: everything made here is dropped on the way out, whatever happens.

While the block lasts, ``plan`` and ``plan_proposed`` also leave out the filters that cannot drop a row
in this transaction (no rejected change, nothing excluded: ``plan.unfiltered_views``).

A few feature views a plan reads twice are materialised the same way (``MORE``: the duplicate groups'
members, the assets far from their albums' dates).

The copy is only as fresh as what it was computed from: ``refresh`` computes it again after the plan's
rehearsal (``autotag.closure``) wrote albums, tags and their links. The scope does not move then: it
reads the assets and the scope tables, which the rehearsal never writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from autotag.plan import unfiltered_views

TABLE = "classification"
# Views that read the materialised table instead of their own SQL while the block lasts.
REPLACED = {"scope_assets": f"SELECT asset_id FROM temp.{TABLE}"}
# Other views materialised (one row per asset_id) because one plan reads them more than once, with
# whether the rehearsal moves their rows (then ``refresh`` computes them again, as the classification).
MORE: dict[str, bool] = {"dup_members": False, "album_date_mismatches": True}


def _views(conn: Connection) -> list[tuple[str, str]]:
    """Every view installed the way ``ensure_views`` does (``CREATE VIEW "name" AS <select>``), in creation
    order, as ``(name, select)``; a view made otherwise (by hand) is no plan view and is left alone."""
    rows = conn.exec_driver_sql("SELECT name, sql FROM main.sqlite_master WHERE type = 'view' ORDER BY rowid")
    out = []
    for name, sql in rows:
        head = f'CREATE VIEW "{name}" AS '
        if str(sql).startswith(head):
            out.append((str(name), str(sql)[len(head):]))
    return out


@contextmanager
def shadowed(conn: Connection) -> Iterator[None]:
    """Within the block, the views on ``conn`` read a materialised classification (see the module's text)."""
    views = _views(conn)
    made: list[tuple[str, str]] = []  # (type, name), dropped in reverse
    replaced = {**REPLACED, **unfiltered_views(conn, dict(views))}
    try:
        if TABLE in dict(views):
            conn.exec_driver_sql(f'CREATE TEMP TABLE "{TABLE}" AS SELECT * FROM main."{TABLE}"')
            made.append(("TABLE", TABLE))
            conn.exec_driver_sql(f'CREATE UNIQUE INDEX temp."ix_shadow_{TABLE}" ON "{TABLE}"(asset_id)')
            for name, body in views:
                if name in MORE:
                    conn.exec_driver_sql(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM ({body})')
                    made.append(("TABLE", name))
                    conn.exec_driver_sql(f'CREATE UNIQUE INDEX temp."ix_shadow_{name}" ON "{name}"(asset_id)')
                elif name != TABLE:
                    conn.exec_driver_sql(f'CREATE TEMP VIEW "{name}" AS {replaced.get(name, body)}')
                    made.append(("VIEW", name))
        yield
    finally:
        for kind, name in reversed(made):
            conn.exec_driver_sql(f'DROP {kind} IF EXISTS temp."{name}"')


def refresh(conn: Connection) -> None:
    """Compute the copies the rehearsal moves again, from the mirror as it is now on ``conn`` (the
    mirror's own views)."""
    for name in (TABLE, *(n for n, moves in MORE.items() if moves)):
        found = conn.exec_driver_sql("SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = ?", (name,))
        if found.first() is not None:
            conn.exec_driver_sql(f'DELETE FROM temp."{name}"')
            conn.exec_driver_sql(f'INSERT INTO temp."{name}" SELECT * FROM main."{name}"')
