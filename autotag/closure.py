"""The plan closed under its own consequences, so that the run after a push plans nothing.

One feature's change can call for another's: a folder album puts an asset into a date album, which
classifies it, which lets its duplicates follow it into that album, which may put them far from the
album's date. The ``plan`` view sees one step. ``materialize_plan`` applies the plan's *structural*
rows (album additions and removals, non-marker tags: what rules and features read) to the mirror inside the
classify transaction, asks ``plan`` again, and repeats until no new structural row appears. The final
plan is every structural row found on the way plus the marker rows of the last round: markers are
never applied, so they are always judged against the server's real marker state and the state the
structural rows will make.

Nothing of the rehearsal stays: every row it wrote is recorded in ``temp.closure_*`` tables and
deleted again, and the row counts of the four tables it touches are checked before the transaction
may commit. Date changes are not rehearsed: the album-date check already reads the dates plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from autotag import derived, shadow
from immich_mirror.errors import ImmichMirrorError

PLAN_TABLE = "temp.plan_now"
MAX_ROUNDS = 6
_TOUCHED = ("albums", "album_assets", "tags", "asset_tags")
# Rows the rehearsal applies; everything else in the plan is judged once, in the last round. (Removals
# from albums are smart albums': a rule that counts the album must see the member gone.)
_STRUCTURAL = (
    "(kind IN ('album_add', 'album_remove') "
    "OR (kind = 'tag_add' AND target NOT IN (SELECT value FROM temp.closure_markers)))"
)
_VIRTUAL_PREFIX = "name:"


# Edits a round's plan in place; says whether the plan held any feature's rows (None: not known).
Step = Callable[[Connection, str], bool | None]


def _nothing(_conn: Connection, _table: str = "") -> None:
    return None


def materialize_plan(
    conn: Connection,
    markers: Iterable[str],
    *,
    resolve: Step = _nothing,
    measure: Callable[[Connection], None] = _nothing,
) -> int:
    """See ``_materialize``: with the views a plan reads most materialised once (``autotag.shadow``)."""
    with shadow.shadowed(conn):
        return _materialize(conn, markers, resolve=resolve, measure=measure)


def _materialize(
    conn: Connection,
    markers: Iterable[str],
    *,
    resolve: Step,
    measure: Callable[[Connection], None],
) -> int:
    """Leave the closed plan in ``temp.plan_now`` (``index_plan`` indexes it); returns the rounds it took.

    ``resolve(conn, table)`` edits each round's plan in place before it is used (autotag.proposals:
    one classification per asset); ``measure(conn)`` runs once on the mirror as the closed plan leaves
    it (the rehearsal still applied), for counts that must describe the state after the plan.
    """
    _drop(conn)
    conn.exec_driver_sql("CREATE TEMP TABLE closure_markers (value TEXT PRIMARY KEY)")
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO temp.closure_markers(value) VALUES (?)", [(m,) for m in markers]
    )
    conn.exec_driver_sql("CREATE TEMP TABLE plan_now AS SELECT * FROM plan")
    features = resolve(conn, PLAN_TABLE)
    # Only a feature's rows are structural: with none (the default rules alone), no scan for them.
    if features is False or conn.exec_driver_sql(
        f"SELECT 1 FROM {PLAN_TABLE} WHERE {_STRUCTURAL} LIMIT 1"
    ).first() is None:
        measure(conn)
        return 1  # the everyday case: nothing that another rule or feature reads is about to change
    before = _counts(conn)
    conn.exec_driver_sql(f"CREATE TEMP TABLE closure_struct AS SELECT * FROM {PLAN_TABLE} WHERE {_STRUCTURAL}")
    conn.exec_driver_sql("CREATE INDEX temp.ix_closure_struct ON closure_struct(idem_key)")
    conn.exec_driver_sql("CREATE TEMP TABLE closure_new AS SELECT * FROM temp.closure_struct")
    for table, columns in (("albums", "id"), ("tags", "id"), ("album_assets", "album_id, asset_id"),
                           ("asset_tags", "asset_id, tag_id"), ("album_removed", "album_id, asset_id")):
        conn.exec_driver_sql(f"CREATE TEMP TABLE closure_{table} ({columns}, PRIMARY KEY ({columns}))")
    rounds = 1
    try:
        while True:
            _rehearse(conn)
            derived.refresh(conn, reads=("albums",))  # a rehearsed album's name may match a rule
            shadow.refresh(conn)  # ... and the classification follows what was rehearsed
            rounds += 1
            conn.exec_driver_sql("DROP TABLE IF EXISTS temp.plan_round")
            conn.exec_driver_sql("CREATE TEMP TABLE plan_round AS SELECT * FROM plan")
            resolve(conn, "temp.plan_round")
            conn.exec_driver_sql("DELETE FROM temp.closure_new")
            conn.exec_driver_sql(
                f"INSERT INTO temp.closure_new SELECT * FROM temp.plan_round WHERE {_STRUCTURAL} "
                "AND idem_key NOT IN (SELECT idem_key FROM temp.closure_struct)"
            )
            if conn.exec_driver_sql("SELECT 1 FROM temp.closure_new LIMIT 1").first() is None or rounds >= MAX_ROUNDS:
                break  # at MAX_ROUNDS the rest waits for the next run, which starts from what this one did
            conn.exec_driver_sql("INSERT INTO temp.closure_struct SELECT * FROM temp.closure_new")
        _cancel_reverted(conn)
        conn.exec_driver_sql(f"DELETE FROM {PLAN_TABLE}")
        conn.exec_driver_sql(f"INSERT INTO {PLAN_TABLE} SELECT * FROM temp.closure_struct")
        conn.exec_driver_sql(
            f"INSERT INTO {PLAN_TABLE} SELECT * FROM temp.plan_round WHERE NOT {_STRUCTURAL} "
            "AND idem_key NOT IN (SELECT idem_key FROM temp.closure_struct)"
        )
        measure(conn)
    finally:
        _take_back(conn)
        derived.refresh(conn, reads=("albums",))
    if _counts(conn) != before:  # never commit a rehearsal: the caller's transaction rolls back
        raise ImmichMirrorError("internal error: the plan rehearsal left rows in the mirror; nothing was changed")
    _drop(conn, keep_plan=True)
    return rounds


def _rehearse(conn: Connection) -> None:
    """Apply the rows of ``temp.closure_new`` to the mirror, recording each row it adds."""
    owner = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key = 'owner_id'").scalar()
    conn.exec_driver_sql(
        "INSERT INTO temp.closure_albums(id) SELECT DISTINCT target FROM temp.closure_new "
        f"WHERE kind = 'album_add' AND target LIKE '{_VIRTUAL_PREFIX}%' "
        "AND target NOT IN (SELECT id FROM albums) AND target NOT IN (SELECT id FROM temp.closure_albums)"
    )
    conn.exec_driver_sql(
        "INSERT INTO albums(id, name, owner_id, is_owned, shared, asset_count) "
        f"SELECT id, substr(id, {len(_VIRTUAL_PREFIX) + 1}), ?, 1, 0, 0 FROM temp.closure_albums "
        "WHERE id NOT IN (SELECT id FROM albums)",
        (owner,),
    )
    conn.exec_driver_sql(
        "INSERT INTO temp.closure_tags(id) SELECT DISTINCT n.target FROM temp.closure_new AS n "
        "WHERE n.kind = 'tag_add' AND n.target NOT IN (SELECT value FROM tags) "
        "AND n.target NOT IN (SELECT id FROM temp.closure_tags)"
    )
    # A rehearsed tag is named by its value; its id is the value too, which no Immich UUID can be.
    conn.exec_driver_sql(
        "INSERT INTO tags(id, value, name) SELECT id, id, id FROM temp.closure_tags "
        "WHERE id NOT IN (SELECT id FROM tags)"
    )
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO temp.closure_album_assets(album_id, asset_id) "
        "SELECT n.target, n.asset_id FROM temp.closure_new AS n WHERE n.kind = 'album_add' "
        "AND n.target IN (SELECT id FROM albums) AND NOT EXISTS "
        "(SELECT 1 FROM album_assets AS aa WHERE aa.album_id = n.target AND aa.asset_id = n.asset_id)"
    )
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO album_assets(album_id, asset_id) "
        "SELECT album_id, asset_id FROM temp.closure_album_assets"
    )
    # A removal takes out a member the mirror had (recorded, put back by _take_back) or one an earlier
    # round added (that addition is forgotten: _cancel_reverted drops the pair from the plan).
    removals = "SELECT target, asset_id FROM temp.closure_new WHERE kind = 'album_remove'"
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO temp.closure_album_removed(album_id, asset_id) "
        "SELECT n.target, n.asset_id FROM temp.closure_new AS n WHERE n.kind = 'album_remove' AND EXISTS "
        "(SELECT 1 FROM album_assets AS aa WHERE aa.album_id = n.target AND aa.asset_id = n.asset_id) "
        "AND (n.target, n.asset_id) NOT IN (SELECT album_id, asset_id FROM temp.closure_album_assets)"
    )
    conn.exec_driver_sql(f"DELETE FROM album_assets WHERE (album_id, asset_id) IN ({removals})")
    conn.exec_driver_sql(f"DELETE FROM temp.closure_album_assets WHERE (album_id, asset_id) IN ({removals})")
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO temp.closure_asset_tags(asset_id, tag_id) "
        "SELECT n.asset_id, t.id FROM temp.closure_new AS n JOIN tags AS t ON t.value = n.target "
        "WHERE n.kind = 'tag_add' AND NOT EXISTS "
        "(SELECT 1 FROM asset_tags AS at WHERE at.asset_id = n.asset_id AND at.tag_id = t.id)"
    )
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) SELECT asset_id, tag_id FROM temp.closure_asset_tags"
    )


def _cancel_reverted(conn: Connection) -> None:
    """An addition a later round removed again, or a removal a later round added back, nets to nothing
    (a smart album of unclassified photos: the round's other additions classified one of them); and no
    removal from an album the push is still to create is ever sent."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE closure_cancel AS SELECT a.idem_key AS one, r.idem_key AS other "
        "FROM temp.closure_struct AS a JOIN temp.closure_struct AS r ON r.target = a.target "
        "AND r.asset_id = a.asset_id WHERE a.kind = 'album_add' AND r.kind = 'album_remove'"
    )
    conn.exec_driver_sql(
        "DELETE FROM temp.closure_struct WHERE idem_key IN "
        "(SELECT one FROM temp.closure_cancel UNION ALL SELECT other FROM temp.closure_cancel)"
    )
    conn.exec_driver_sql(
        f"DELETE FROM temp.closure_struct WHERE kind = 'album_remove' AND target LIKE '{_VIRTUAL_PREFIX}%'"
    )


def _take_back(conn: Connection) -> None:
    if conn.exec_driver_sql("SELECT 1 FROM temp.sqlite_master WHERE name = 'closure_albums'").first() is None:
        return
    conn.exec_driver_sql(
        "DELETE FROM album_assets WHERE (album_id, asset_id) IN "
        "(SELECT album_id, asset_id FROM temp.closure_album_assets)"
    )
    conn.exec_driver_sql(
        "DELETE FROM asset_tags WHERE (asset_id, tag_id) IN (SELECT asset_id, tag_id FROM temp.closure_asset_tags)"
    )
    conn.exec_driver_sql("DELETE FROM albums WHERE id IN (SELECT id FROM temp.closure_albums)")
    conn.exec_driver_sql("DELETE FROM tags WHERE id IN (SELECT id FROM temp.closure_tags)")
    conn.exec_driver_sql(
        "INSERT OR IGNORE INTO album_assets(album_id, asset_id) "
        "SELECT album_id, asset_id FROM temp.closure_album_removed"
    )


def _counts(conn: Connection) -> tuple[int, ...]:
    return tuple(int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() or 0) for t in _TOUCHED)


def index_plan(conn: Connection) -> None:
    """Index the closed plan by idem_key, for the outbox's comparisons with it (a dry run needs none)."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS temp.ix_plan_now_idem_key ON plan_now(idem_key)")


def _drop(conn: Connection, *, keep_plan: bool = False) -> None:
    names = ["closure_markers", "closure_struct", "closure_new", "plan_round", "closure_albums", "closure_tags",
             "closure_album_assets", "closure_asset_tags", "closure_album_removed", "closure_cancel"]
    if not keep_plan:
        names.append("plan_now")
    for name in names:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
