"""autotag.derived and autotag.zones: what the views need from Python, kept in tables, cheaply."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from autotag import derived, zones
from autotag.closure import materialize_plan
from tests.autotag.mirror import Mirror


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(table, rows derived) for every batch the refreshes derive."""
    seen: list[tuple[str, int]] = []
    real = derived._derive_rows

    def counting(d: derived.Derived, params: Any, rows: Any) -> Any:
        rows = list(rows)
        seen.append((d.table, len(rows)))
        return real(d, params, rows)

    monkeypatch.setattr(derived, "_derive_rows", counting)
    return seen


def plain(m: Mirror, query: str) -> list[tuple[Any, ...]]:
    url = m.engine.url.database
    con = sqlite3.connect(f"file:{url}?mode=ro", uri=True)  # no function of autotag's
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_album_regexes_are_derived_once_and_follow_renames(m: Mirror, derivations: list[tuple[str, int]]) -> None:
    for i in range(5):
        m.asset(f"a{i}")
        m.album(f"al{i}", f"Album {i}", f"a{i}")
    m.album("dated", "2023-05 Trip", "a0")
    derivations.clear()
    m.install()
    assert plain(m, "SELECT key, param, value FROM derived_album_rules") == [("dated", "event_album", "2023-05")]
    assert derivations == [("derived_album_rules", 6)]  # every album once: the patterns were new
    derivations.clear()
    m.install()
    m.synced()
    assert derivations == []  # nothing changed: nothing derived
    m.sql("UPDATE albums SET name = '2024-01-02 Ski' WHERE id = 'al3'")
    m.sql("DELETE FROM album_assets WHERE album_id = 'dated'")
    m.sql("DELETE FROM albums WHERE id = 'dated'")
    m.synced()
    assert derivations == [("derived_album_rules", 1)]  # the renamed album only
    assert plain(m, "SELECT key FROM derived_album_rules") == [("al3",)]
    assert dict(plain(m, "SELECT asset_id, status FROM classification"))["a3"] == "classified"
    assert plain(m, "SELECT count(*) FROM derived_album_rules_scan") == [(5,)]
    derivations.clear()
    m.install({"rules": [{"name": "holiday", "album_name_regex": ["(?i)^album [12]$"]}]})  # other patterns
    assert derivations == [("derived_album_rules", 5)]
    assert sorted(plain(m, "SELECT key, param FROM derived_album_rules")) == [("al1", "holiday"), ("al2", "holiday")]


def test_first_matching_regex_of_a_rule_wins_and_bad_templates_match_nothing(m: Mirror) -> None:
    m.album("x", "2023-05-06 Party")
    m.install({"rules": [{"name": "r", "album_name_regex": ["^\\d{4}-\\d{2}-\\d{2}", "^\\d{4}"]}]})
    # Patterns are ordered within a rule (rule_defs' order), and one row per album and rule is kept.
    assert plain(m, "SELECT key, param FROM derived_album_rules") == [("x", "r")]
    rows = derived._derive_rows(derived.DERIVED[2], [("0", "(?P<a>x)", "\\g<missing>")], [("k", "x")])
    assert rows == []


def test_closure_rehearsal_sees_and_forgets_rehearsed_albums(m: Mirror) -> None:
    m.asset("e1", path="/mnt/p/2019-06-01 Beach/DSC1.JPG")
    m.sql("UPDATE assets SET library_id = 'lib' WHERE id = 'e1'")
    m.synced()
    m.install({"folder_albums": {"enabled": True}})
    with m.engine.begin() as conn:
        rounds = materialize_plan(conn, ["autotag_output_unknown", "autotag_output_conflict"])
        kinds = {str(k) for (k,) in conn.exec_driver_sql("SELECT kind FROM temp.plan_now")}
        left = conn.exec_driver_sql("SELECT count(*) FROM derived_album_rules").scalar()
    # The album to create is named like an event: the asset it classifies gets no unknown marker.
    assert rounds == 2 and kinds == {"album_add"}
    assert left == 0  # nothing of the rehearsal stays behind


def test_sql_predicate_with_regexp_warns_that_only_autotag_can_read_the_views(
    m: Mirror, caplog: pytest.LogCaptureFixture
) -> None:
    m.asset("scan", path="/mnt/scans/1.jpg")
    with caplog.at_level(logging.WARNING):
        m.install({"rules": [{"name": "scans", "sql": "assets.original_path LIKE '/mnt/scans/%'"}]})
    assert not caplog.records
    assert plain(m, "SELECT asset_id, status FROM classification") == [("scan", "classified")]
    with caplog.at_level(logging.WARNING):
        m.install({"rules": [{"name": "scans", "sql": "assets.original_path REGEXP '^/mnt/scans/'"}]})
    (record,) = caplog.records
    assert record.getMessage().startswith("rules[0] (scans): sql: uses REGEXP, which other SQLite clients")
    assert m.status() == {"scan": "classified"}  # autotag's own connections still have it


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns",
        "UTC", "UTC+2", "UTC-5:30", "UTC+0", "Not/AZone", "", None,
    ],
)
def test_zone_offsets_in_sql_agree_with_python(zone: str | None) -> None:
    locals_ = [
        "2019-03-31T01:59:59", "2019-03-31T02:00:00", "2019-03-31T02:30:00", "2019-03-31T03:00:00",
        "2019-10-27T01:59:59", "2019-10-27T02:00:00", "2019-10-27T02:30:00", "2019-10-27T03:00:00",
        "2019-11-03T01:30:00", "2019-11-03T02:00:00", "2019-03-10T02:30:00", "2019-04-07T01:45:00",
        "2019-10-06T02:15:00", "2019-04-12 15:30:00", "2019-04-12", "1850-06-01T12:00:00", "1916-05-01T00:30:00",
        "1970-01-01T00:00:00", "2099-07-01T12:00:00", "not a date", None,
    ]
    con = sqlite3.connect(":memory:")  # no function of autotag's
    con.execute(f"CREATE TABLE {zones.TABLE} ({zones.COLUMNS})")
    con.executemany(
        f"INSERT INTO {zones.TABLE} VALUES (?, ?, ?, ?)", [(zone, *row) for row in zones.intervals(zone or "")]
    )
    con.execute("CREATE TABLE t (local TEXT, zone TEXT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [(x, zone) for x in locals_])
    got = [r[0] for r in con.execute(f"SELECT {zones.zoned_iso_sql('local', 'zone')} FROM t ORDER BY rowid")]
    assert got == [zones.zoned_iso(x, zone) for x in locals_]
    if zone == "Europe/Berlin":
        assert got[2] == "2019-03-31T02:30:00+01:00" and got[6] == "2019-10-27T02:30:00+02:00"


def test_zones_are_kept_while_a_view_does_zone_arithmetic(m: Mirror) -> None:
    m.asset("a")
    m.sql("UPDATE assets SET time_zone = 'Europe/Lisbon' WHERE id = 'a'")
    m.install({"dates": {"enabled": True, "default_time_zone": "UTC+3"}})
    assert plain(m, "SELECT count(*) FROM zone_offsets") == [(0,)]  # no view reads it: nothing computed
    view = f"SELECT a.id, {zones.zoned_iso_sql('a.local_date_time', 'a.time_zone')} AS iso FROM assets AS a"
    with m.engine.begin() as conn:
        derived.refresh(conn, views=[view])
    assert {z for (z,) in plain(m, "SELECT DISTINCT zone FROM zone_offsets")} == {"Europe/Lisbon", "UTC+3"}
    m.install()  # date repair off: no zone is needed any more, none is computed
    m.sql("UPDATE assets SET time_zone = 'Asia/Tokyo' WHERE id = 'a'")
    with m.engine.begin() as conn:
        derived.refresh(conn, views=[view])
    assert "Asia/Tokyo" not in {z for (z,) in plain(m, "SELECT DISTINCT zone FROM zone_offsets")}


def test_a_derived_table_deleted_by_hand_is_derived_again(m: Mirror) -> None:
    m.album("dated", "2023-05 Trip")
    m.install()
    m.sql("DROP TABLE derived_album_rules")
    m.synced()
    assert plain(m, "SELECT key FROM derived_album_rules") == [("dated",)]
