from __future__ import annotations

from pathlib import Path

import pytest

from autotag.config import parse_config
from immich_mirror.errors import RuleError
from tests.autotag.mirror import Mirror


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def test_default_rules_classify_by_date_album_and_input_tags(m: Mirror) -> None:
    for a in ("event", "event2", "meme", "adult", "pending", "ignored", "loose", "undated"):
        m.asset(a)
    m.album("al1", "2023-07 Lisbon", "event")
    m.album("al2", "2024-01-15 Birthday", "event2")
    m.album("al3", "Best of", "undated")
    m.tag("meme", "autotag_input_meme")
    m.tag("adult", "autotag_input_adult_meme")
    m.tag("pending", "autotag_input_pending_review")
    m.tag("ignored", "autotag_input_ignore")
    m.install()
    assert m.status() == {
        "event": "classified",
        "event2": "classified",
        "meme": "classified",
        "adult": "classified",
        "pending": "classified",
        "ignored": "classified",
        "loose": "unclassified",
        "undated": "unclassified",
    }
    rows = m.rows("SELECT asset_id, matched_rules, matched_albums FROM classification ORDER BY asset_id")
    assert ("event", "event_album", "al1") in rows
    assert ("meme", "meme", None) in rows
    assert ("loose", None, None) in rows
    assert m.rows("SELECT asset_id FROM unclassified ORDER BY asset_id") == [("loose",), ("undated",)]
    assert m.rows("SELECT * FROM rule_matches WHERE asset_id = 'event'") == [("event", "event_album", "al1")]


def test_conflicts_two_rules_or_one_rule_through_two_albums(m: Mirror) -> None:
    m.asset("both")
    m.asset("two_albums")
    m.asset("one_album_twice")  # two rules on one album: still one album, but two rules
    m.album("al1", "2023-01 Ski", "both", "two_albums")
    m.album("al2", "2023-02 Party", "two_albums")
    m.tag("both", "autotag_input_meme")
    m.album("al3", "2023-03 Memes", "one_album_twice")
    m.install(
        {
            "rules": [
                {"name": "event_album", "album_name_regex": [r"^\d{4}-\d{2}"]},
                {"name": "meme", "tags": ["autotag_input_meme"], "album_name_regex": ["Memes$"]},
            ]
        }
    )
    assert m.status() == {"both": "conflict", "two_albums": "conflict", "one_album_twice": "conflict"}
    rows = dict((r[0], r[1:]) for r in m.rows("SELECT * FROM conflicts"))
    assert rows["both"] == ("conflict", "event_album,meme", "al1")
    assert rows["two_albums"] == ("conflict", "event_album", "al1,al2")
    assert rows["one_album_twice"] == ("conflict", "event_album,meme", "al3")


def test_same_rule_twice_through_tags_is_not_a_conflict(m: Mirror) -> None:
    m.asset("a")
    m.tag("a", "people/alice", "people/bob")
    m.install({"rules": [{"name": "people", "tags": ["people"], "include_descendants": True}]})
    assert m.status() == {"a": "classified"}


def test_include_descendants(m: Mirror) -> None:
    m.asset("parent")
    m.asset("child")
    m.asset("grandchild")
    m.asset("lookalike")
    m.tag("parent", "people")
    m.tag("child", "people/alice")
    m.tag("grandchild", "people/alice/kids")
    m.tag("lookalike", "peoples")
    m.install({"rules": [{"name": "p", "tags": ["people"]}]})
    assert m.status() == {
        "parent": "classified",
        "child": "unclassified",
        "grandchild": "unclassified",
        "lookalike": "unclassified",
    }
    m.install({"rules": [{"name": "p", "tags": ["people"], "include_descendants": True}]})
    assert m.status() == {
        "parent": "classified",
        "child": "classified",
        "grandchild": "classified",
        "lookalike": "unclassified",
    }


def test_album_ids_and_regex_any_criterion(m: Mirror) -> None:
    m.asset("a")
    m.asset("b")
    m.asset("c")
    m.album("alb-1", "Holidays", "a")
    m.album("alb-2", "Screenshots 2020", "b")
    m.album("alb-3", "Other", "c")
    m.install({"rules": [{"name": "x", "album_ids": ["alb-1"], "album_name_regex": ["(?i)screenshots"]}]})
    assert m.status() == {"a": "classified", "b": "classified", "c": "unclassified"}


def test_sql_predicate(m: Mirror) -> None:
    m.asset("scan", path="/mnt/scans/1.jpg")
    m.asset("photo", path="/photos/1.jpg")
    m.install({"rules": [{"name": "scans", "sql": "assets.original_path LIKE '/mnt/scans/%'"}]})
    assert m.status() == {"scan": "classified", "photo": "unclassified"}
    assert m.rows("SELECT rule FROM rule_matches WHERE asset_id = 'scan'") == [("scans",)]
    # Reinstalling with fewer sql rules leaves no stale per-rule view behind.
    m.install({"rules": [{"name": "t", "tags": ["x"]}]})
    assert m.rows("SELECT name FROM sqlite_master WHERE name LIKE 'rule_sql_%'") == []
    assert m.status() == {"scan": "unclassified", "photo": "unclassified"}


def test_user_values_are_bound_not_formatted(m: Mirror) -> None:
    m.asset("a")
    m.tag("a", 'it\'s "quoted"; DROP TABLE assets; --')
    m.album("al'1", "it's 2023", "a")
    m.install(
        {
            "rules": [
                {"name": "t", "tags": ['it\'s "quoted"; DROP TABLE assets; --']},
                {"name": "al", "album_ids": ["al'1"], "album_name_regex": ["it's"]},
            ],
            "markers": {"unclassified": "o'brien", "conflict": 'x"y'},
        }
    )
    assert m.status() == {"a": "conflict"}
    assert {r.target for r in m.plan()} == {'x"y'}


@pytest.mark.parametrize(
    ("predicate", "pattern"),
    [
        ("assets.no_such_column = 1", r"^rules\[0\] \(bad\): sql: no such column: assets\.no_such_column$"),
        ("original_path LIKE", r"^rules\[0\] \(bad\): sql: .*syntax error"),
        ("original_path REGEXP '^('", r"^rules\[0\] \(bad\): sql: .*user-defined function raised exception"),
        ("1; DROP TABLE assets", r"^rules\[0\] \(bad\): sql: "),
    ],
)
def test_bad_sql_predicate_is_a_rule_error_and_changes_nothing(
    m: Mirror, predicate: str, pattern: str
) -> None:
    m.asset("a")
    m.install()
    before = m.rows("SELECT sql FROM sqlite_master ORDER BY name")
    with pytest.raises(RuleError, match=pattern) as info:
        m.install({"rules": [{"name": "bad", "sql": predicate}]})
    assert "\n" not in str(info.value)
    assert m.rows("SELECT sql FROM sqlite_master ORDER BY name") == before
    assert m.rows("SELECT count(*) FROM assets") == [(1,)]


def test_bad_regex_caught_at_install_too(m: Mirror) -> None:
    cfg = parse_config({})
    cfg.rules[0].album_name_regex = ["^("]
    with pytest.raises(RuleError, match=r"^rules\[0\] \(event_album\): invalid regex"):
        m.install(cfg)


def test_scope(m: Mirror) -> None:
    m.asset("timeline")
    m.asset("archived", visibility="archive")
    m.asset("hidden", visibility="hidden")
    m.asset("locked", visibility="locked")
    m.asset("trashed", trashed=True)
    m.asset("partner", owner="someone-else")
    m.asset("excluded")
    m.exclude("excluded")
    m.install()
    assert set(m.status()) == {"timeline", "archived"}
    m.install({"scope": {"visibility": ["timeline", "hidden"]}})
    assert set(m.status()) == {"timeline", "hidden"}
    m.only("timeline")
    m.only("trashed")  # `only` narrows the scope, it never widens it
    assert set(m.status()) == {"timeline"}


def test_nothing_in_scope_before_the_owner_is_known(tmp_path: Path) -> None:
    m = Mirror(tmp_path / "m.db", owner=None)
    m.asset("a")
    m.install()
    assert m.status() == {}


def test_a_compilation_rule_classifies_but_never_makes_a_conflict(m: Mirror) -> None:
    m.asset("event_and_best")  # in an event album and in "Best of 2023": one event, not a conflict
    m.asset("best_only")  # only in the compilation: classified by it
    m.asset("two_compilations")  # in two compilation albums: still classified
    m.asset("two_events")  # two event albums stay a conflict, compilations or not
    m.album("ev1", "2023-05-12 Beach", "event_and_best", "two_events")
    m.album("ev2", "2023-06-01 Hike", "two_events")
    m.album("best", "Best of 2023", "event_and_best", "best_only", "two_compilations", "two_events")
    m.album("port", "Portfolio", "two_compilations")
    m.install(
        {
            "rules": [
                {"name": "event_album", "album_name_regex": [r"^\d{4}-\d{2}"]},
                {"name": "best", "album_name_regex": ["^Best of", "^Portfolio$"], "exclusive": False},
            ]
        }
    )
    assert m.status() == {
        "event_and_best": "classified",
        "best_only": "classified",
        "two_compilations": "classified",
        "two_events": "conflict",
    }
    rows = dict((r[0], r[2:]) for r in m.rows("SELECT * FROM classification"))
    assert rows["event_and_best"] == ("best,event_album", "best,ev1")  # every match is still listed
    # Without `exclusive: false` the same library has three conflicts.
    m.install({"rules": [{"name": "event_album", "album_name_regex": [r"^\d{4}-\d{2}"]},
                         {"name": "best", "album_name_regex": ["^Best of", "^Portfolio$"]}]})
    assert sorted(a for a, s in m.status().items() if s == "conflict") == [
        "event_and_best", "two_compilations", "two_events"]


def _person(m: Mirror, person_id: str, name: str, *assets: str, hidden: bool = False) -> None:
    m.sql("INSERT INTO people (id, name, is_hidden) VALUES (:id, :n, :h)", id=person_id, n=name, h=hidden)
    for asset_id in assets:
        m.sql("INSERT INTO asset_people (asset_id, person_id) VALUES (:a, :p)", a=asset_id, p=person_id)


def test_people_by_exact_name_and_min_faces(m: Mirror) -> None:
    for a in ("alice", "alice_hidden_twin", "bob_and_stranger", "stranger", "nobody", "meme_with_face"):
        m.asset(a)
    _person(m, "p1", "Alice", "alice", "meme_with_face")
    _person(m, "p2", "Alice", "alice_hidden_twin", hidden=True)  # two clusters, one name: both count
    _person(m, "p3", "Bob", "bob_and_stranger")
    _person(m, "p4", "", "bob_and_stranger", "stranger")  # unnamed
    _person(m, "p5", "alice", "nobody")  # names match exactly, case included
    m.tag("meme_with_face", "autotag_input_meme")
    m.install(
        {
            "rules": [
                {"name": "family", "people": "Alice"},
                {"name": "group", "min_faces": 2},
                {"name": "meme", "tags": ["autotag_input_meme"]},
            ]
        }
    )
    rules = {str(a): str(r) for a, _s, r, _al in m.rows("SELECT * FROM classification")}
    assert rules == {
        "alice": "family",
        "alice_hidden_twin": "family",
        "bob_and_stranger": "group",
        "stranger": "None",
        "nobody": "None",
        # "a photo with a known face is never a meme": the two rules meet, so it is a conflict for review.
        "meme_with_face": "family,meme",
    }
    assert m.status()["meme_with_face"] == "conflict"


def test_people_rules_are_checked(m: Mirror) -> None:
    with pytest.raises(RuleError, match=r"people: empty name"):
        m.install({"rules": [{"name": "x", "people": [" "]}]})
    with pytest.raises(Exception, match=r"min_faces"):
        parse_config({"rules": [{"name": "x", "min_faces": 0}]})
