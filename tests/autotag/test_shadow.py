"""autotag.shadow: the classification materialised for one classify reads exactly what the views read,
follows the mirror when refreshed, and leaves nothing behind on the connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from autotag import session as ops
from autotag import shadow
from autotag.config import parse_config
from autotag.plan import install_rules, unfiltered_views
from autotag.session import Session
from immich_mirror.fake.generate import generate_library
from tests.helpers import fake_session

ALL_ON = {
    "duplicates": {"enabled": True},
    "dates": {"enabled": True},
    "album_dates": {"enabled": True},
    "folder_albums": {"enabled": True},
    "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats"}]},
}
READS = {
    "plan": "SELECT * FROM plan ORDER BY idem_key",
    "classification": "SELECT * FROM classification ORDER BY asset_id",
    "scope_assets": "SELECT * FROM scope_assets ORDER BY asset_id",
    "dup_members": "SELECT * FROM dup_members ORDER BY asset_id",
    "album_date_mismatches": "SELECT * FROM album_date_mismatches ORDER BY asset_id",
    "rule_matches": "SELECT * FROM rule_matches ORDER BY asset_id, rule, album_id",
}


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    s = fake_session(generate_library(400, seed=3), tmp_path / "m.db", cfg=parse_config(ALL_ON))
    ops.sync(s)
    install_rules(s.engine, s.cfg)
    yield s
    s.close()


def _read(conn: Connection) -> dict[str, list[tuple[object, ...]]]:
    return {name: [tuple(r) for r in conn.exec_driver_sql(sql)] for name, sql in READS.items()}


def _temp_objects(conn: Connection) -> list[str]:
    return [str(n) for (n,) in conn.exec_driver_sql("SELECT name FROM temp.sqlite_master")]


def test_the_views_read_the_same_rows_through_the_copies(session: Session) -> None:
    with session.engine.begin() as conn:
        plain = _read(conn)
        assert plain["plan"] and plain["dup_members"] and plain["classification"]  # something to compare
        with shadow.shadowed(conn):
            assert "classification" in _temp_objects(conn)
            assert _read(conn) == plain
        assert _temp_objects(conn) == []


def test_a_refresh_sees_what_was_written_since(session: Session) -> None:
    """What the plan's rehearsal does: a new album link classifies an asset; the copy follows."""
    with session.engine.begin() as conn:
        with shadow.shadowed(conn):
            asset = conn.exec_driver_sql(
                "SELECT asset_id FROM classification WHERE status = 'unclassified' ORDER BY asset_id LIMIT 1"
            ).scalar_one()
            album = conn.exec_driver_sql(
                "SELECT album_id FROM classifying_albums ORDER BY album_id LIMIT 1"
            ).scalar_one()
            conn.exec_driver_sql("INSERT INTO album_assets (album_id, asset_id) VALUES (?, ?)", (album, asset))
            stale = conn.exec_driver_sql("SELECT status FROM classification WHERE asset_id = ?", (asset,)).scalar()
            assert stale == "unclassified"  # a copy: computed when the block began
            shadow.refresh(conn)
            copied = _read(conn)
        assert _read(conn) == copied  # the views, on the mirror as written: the same rows
        assert conn.exec_driver_sql(
            "SELECT status FROM classification WHERE asset_id = ?", (asset,)
        ).scalar() in ("classified", "conflict")
        conn.rollback()


def test_nothing_is_left_behind_when_the_block_fails(session: Session) -> None:
    with session.engine.begin() as conn:
        with pytest.raises(RuntimeError), shadow.shadowed(conn):
            raise RuntimeError("boom")
        assert _temp_objects(conn) == []
    # ... and a classify on the same pooled connection afterwards reads the mirror's own views
    first = ops.classify(session, dry_run=True)
    again = ops.classify(session, dry_run=True)
    assert first.summary == again.summary


def test_a_view_made_by_hand_is_left_alone(session: Session) -> None:
    with session.engine.begin() as conn:
        conn.exec_driver_sql("create view mine as select id from assets")
        with shadow.shadowed(conn):
            assert "mine" not in _temp_objects(conn)
            assert conn.exec_driver_sql("SELECT count(*) FROM mine").scalar()
        conn.rollback()


def test_the_filters_are_left_out_only_while_they_cannot_drop_a_row(session: Session) -> None:
    """No rejection: ``plan`` is ``plan_proposed`` as is; nothing excluded: no exclusion probe per row.
    Either recorded: the filter stays, and the row it drops stays out of the classify's plan."""
    with session.engine.begin() as conn:
        installed = {n: b for n, b in shadow._views(conn)}
        assert set(unfiltered_views(conn, installed)) == {"plan", "plan_proposed"}
        key, kind, target, asset = conn.exec_driver_sql(
            "SELECT idem_key, kind, target, asset_id FROM plan ORDER BY idem_key LIMIT 1"
        ).one()
        conn.exec_driver_sql(
            "INSERT INTO review_decisions (idem_key, decision, kind, target, asset_id, decided_at) "
            "VALUES (?, 'rejected', ?, ?, ?, '2026-01-01')",
            (key, kind, target, asset),
        )
        assert set(unfiltered_views(conn, installed)) == {"plan_proposed"}
        tag = conn.exec_driver_sql("SELECT value FROM tags ORDER BY value LIMIT 1").scalar_one()
        conn.exec_driver_sql("INSERT INTO scope_exclude_tags (tag_value) VALUES (?)", (tag,))
        assert unfiltered_views(conn, installed) == {}
        with shadow.shadowed(conn):
            assert conn.exec_driver_sql("SELECT 1 FROM plan WHERE idem_key = ?", (key,)).first() is None
        conn.rollback()
