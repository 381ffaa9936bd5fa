"""Smart albums against the fake server, in each Immich version: created, kept equal to their rule (adds
and removes), converging, undoable, never touching an album the tool did not create, never classifying."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.errors import RuleError
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.features.test_loop import album, tagged
from tests.helpers import fake_session

UNKNOWN = "autotag_output_unknown"
SMART: dict[str, Any] = {
    "smart_albums": [
        {"album": "Family", "people": ["Alice"]},
        {"album": "Pets", "tags": ["pets"], "include_descendants": True},
        {"album": "Scans 2019", "sql": "assets.original_path LIKE '%/scans/2019/%'"},
    ]
}


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=18)
    day = datetime(2021, 5, 5, tzinfo=UTC)
    add = lib.add_asset
    ids = {
        "alice": add("alice.jpg", date_time_original=day).id,
        "alice_meme": add("alice_meme.jpg", date_time_original=day).id,  # classified (a meme), in Family too
        "cat": add("cat.jpg", date_time_original=day).id,
        "dog": add("dog.jpg", date_time_original=day).id,
        "scan": add("scan.jpg", original_path="/mnt/scans/2019/scan.jpg", date_time_original=day).id,
        "other": add("other.jpg", date_time_original=day).id,
    }
    lib.add_person("Alice", [ids["alice"], ids["alice_meme"]])
    lib.add_person("Bob", [ids["other"]])
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], [ids["alice_meme"]])
    cat = lib.create_tag("pets/cat")
    lib.tag_assets([cat.id], [ids["cat"]])
    lib.create_tag("pets/dog")
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


def _ids(lib: FakeLibrary) -> dict[str, str]:
    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    return ids


@pytest.fixture
def session(tmp_path: Path, library: FakeLibrary, version: str) -> Iterator[Session]:
    s = fake_session(library, tmp_path / "m.db", version, parse_config(SMART))
    yield s
    s.close()


def _album_id(lib: FakeLibrary, name: str) -> str:
    return next(a.id for a in lib.albums.values() if a.name == name)


def _plan(session: Session) -> set[tuple[str, str | None, str | None]]:
    """The dry run's smart album rows: (kind, album name, asset id)."""
    result = ops.classify(session, dry_run=True, preview=None)
    return {(r.kind, r.target_name, r.asset_id) for r in result.rows if "smart_albums" in (r.features or "")}


def _tag_id(lib: FakeLibrary, value: str) -> str:
    return next(t.id for t in lib.tags.values() if t.value == value)


def test_created_filled_counted_and_a_rerun_plans_nothing(session: Session, library: FakeLibrary) -> None:
    ids = _ids(library)
    ops.sync(session)
    dry = ops.classify(session, dry_run=True, preview=None)
    assert dry.summary.by_feature["smart_albums"] == {"album_add": 4}
    assert dry.summary.kinds["album_create"] == 3 - 0  # Family, Pets, Scans 2019
    assert {(r.target, r.asset_id) for r in dry.rows if r.kind == "album_add"} == {
        ("name:Family", ids["alice"]), ("name:Family", ids["alice_meme"]), ("name:Pets", ids["cat"]),
        ("name:Scans 2019", ids["scan"]),
    }

    result = ops.run(session)

    assert album(library, "Family") == {ids["alice"], ids["alice_meme"]}
    assert album(library, "Pets") == {ids["cat"]}
    assert album(library, "Scans 2019") == {ids["scan"]}
    assert result.by_kind["album_add"] == 4 and result.by_kind["album_create"] == 3
    with session.engine.connect() as conn:
        created = {str(n) for (n,) in conn.execute(text("SELECT name FROM created_albums"))}
    assert created == {"Family", "Pets", "Scans 2019"}
    # Not classification: the members of a smart album are as unclassified as before.
    assert ids["alice"] in tagged(library, UNKNOWN) and ids["alice_meme"] not in tagged(library, UNKNOWN)
    again = ops.classify(session, dry_run=True, preview=None)
    assert again.summary.changes == 0 and again.rows == [] and again.problems == []


def test_the_album_follows_the_rule_and_the_rule_wins_over_hand_edits(
    session: Session, library: FakeLibrary
) -> None:
    ids = _ids(library)
    ops.run(session)
    family, pets = _album_id(library, "Family"), _album_id(library, "Pets")
    # In Immich: a new pet, a cat that is not one any more, a face, and the user's own edits.
    library.tag_assets([_tag_id(library, "pets/dog")], [ids["dog"]])
    library.untag_assets([_tag_id(library, "pets/cat")], [ids["cat"]])
    library.remove_from_album(family, [ids["alice"]])  # taken out by hand: the rule still matches it
    library.add_to_album(pets, [ids["other"]])  # put in by hand: the rule does not match it

    ops.sync(session)
    assert _plan(session) == {
        ("album_add", "Pets", ids["dog"]),
        ("album_remove", "Pets", ids["cat"]),
        ("album_add", "Family", ids["alice"]),
        ("album_remove", "Pets", ids["other"]),
    }
    result = ops.run(session)

    assert result.by_kind == {"album_add": 2, "album_remove": 2}
    assert album(library, "Pets") == {ids["dog"]} and album(library, "Family") == {ids["alice"], ids["alice_meme"]}
    assert ops.classify(session, dry_run=True).summary.changes == 0

    # Undo of that run: the removed come back, the added go; the albums stay (created by an earlier run).
    ops.undo(session, run_id=None, apply=True)
    assert album(library, "Pets") == {ids["cat"], ids["other"]}
    assert album(library, "Family") == {ids["alice_meme"]}


def test_undo_of_the_first_run_deletes_the_albums_it_created(session: Session, library: FakeLibrary) -> None:
    before = library.snapshot()
    ops.run(session)
    assert {"Family", "Pets", "Scans 2019"} <= {a.name for a in library.albums.values()}

    result = ops.undo(session, run_id=None, apply=True)

    assert result.push is not None and result.push.dead == 0 and result.push.failed == 0
    after = library.snapshot()
    assert after["albums"] == before["albums"]
    assert sorted(map(tuple, after["asset_tags"])) == sorted(map(tuple, before["asset_tags"]))


def test_an_album_the_tool_did_not_create_is_never_touched(session: Session, library: FakeLibrary) -> None:
    ids = _ids(library)
    mine = library.create_album("Family", asset_ids=[ids["other"]])  # the user's, with a non-matching photo
    ops.sync(session)

    result = ops.classify(session, dry_run=True, preview=None)

    assert not [r for r in result.rows if r.target in (mine.id, "name:Family")]
    assert ("smart_albums", "smart_albums[0] (Family): the album 'Family' was not created by autotag, so autotag "
            "does not change it: nothing planned; rename that album or give the smart album another name") \
        in result.problems
    ops.run(session)
    assert album(library, "Family") == {ids["other"]}
    assert album(library, "Pets") == {ids["cat"]}  # the other smart albums go on


def test_a_smart_album_classifies_only_when_a_rule_names_it(tmp_path: Path, library: FakeLibrary) -> None:
    ids = _ids(library)
    cfg = {**SMART, "rules": [{"name": "meme", "tags": ["autotag_input_meme"]},
                              {"name": "family", "album_name_regex": "^Family$"}]}
    # An exclusive rule counting the smart album: filling it would make the conflicts the tool then flags.
    with pytest.raises(RuleError, match=r"smart_albums\[0\] \(Family\): rule family counts the album 'Family' "
                       "and is exclusive, so filling it would make conflicts; make the rule exclusive: false"):
        parse_config(cfg)
    # A compilation (exclusive: false) counting it classifies its members and never makes a conflict.
    compilation = {**cfg, "rules": [{**cfg["rules"][0]}, {**cfg["rules"][1], "exclusive": False}]}
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(compilation))
    try:
        ops.run(s)
        assert ids["alice"] not in tagged(library, UNKNOWN)  # classified by the rule naming the album
        assert ids["alice_meme"] not in tagged(library, "autotag_output_conflict")
        assert ids["cat"] in tagged(library, UNKNOWN)
        again = ops.classify(s, dry_run=True, preview=None)
        assert again.summary.changes == 0 and again.problems == []
    finally:
        s.close()


def test_members_under_review_and_out_of_scope_are_left_as_the_rule_says(
    tmp_path: Path, library: FakeLibrary
) -> None:
    ids = _ids(library)
    # Folder albums and a tag-album rule propose two classifications for "cat": it goes to review, and
    # still into its smart album, which is no proposal.
    lib_ext = library.update_asset(ids["cat"], original_path="/mnt/photos/2021-05-05 Zoo/cat.jpg",
                                   library_id="lib-ext")
    assert lib_ext.library_id == "lib-ext"
    cfg = {**SMART, "folder_albums": {"enabled": True},
           "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "2021-05 Cats",
                                                      "direction": "to_album"}]}}
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(cfg))
    try:
        ops.run(s)
        assert ids["cat"] in tagged(library, "autotag_output_review")
        assert album(library, "Pets") == {ids["cat"]}
        assert ops.classify(s, dry_run=True).summary.changes == 0
        # Trashed: out of scope, so it stays in the album (the tool only touches in-scope assets).
        library.trash([ids["cat"]])
        library.untag_assets([_tag_id(library, "pets/cat")], [ids["cat"]])
        ops.sync(s)
        assert _plan(s) == set()
    finally:
        s.close()


def test_excluded_album_and_assets(tmp_path: Path, library: FakeLibrary) -> None:
    ids = _ids(library)
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(SMART))
    try:
        ops.run(s)
        pets = _album_id(library, "Pets")
        library.tag_assets([_tag_id(library, "pets/dog")], [ids["dog"]])
        ops.sync(s)
        s.cfg = parse_config({**SMART, "exclude": [f"http://fake.test/albums/{pets}"]})
        result = ops.classify(s, dry_run=True, preview=None)
        assert not [r for r in result.rows if r.target == pets]
        assert ("exclude", 'smart_albums[1] (Pets) targets excluded album "Pets": skipped') in result.problems
        # An excluded asset is neither added nor removed.
        s.cfg = parse_config({**SMART, "exclude": [f"http://fake.test/photos/{ids['dog']}"]})
        assert ("album_add", "Pets", ids["dog"]) not in _plan(s)
    finally:
        s.close()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"album": " "}, "smart_albums[0]: album: empty album name"),
        ({"album": "A"}, "smart_albums[0] (A): matches nothing: give album_name_regex, album_ids, tags, people, "
                         "min_faces or sql"),
        ({"album": "A", "tag": "x"}, "smart_albums[0] (A): tag: unknown key (smart album keys: album, "
                                     "album_name_regex, album_ids, tags, include_descendants, people, min_faces, sql)"),
        ({"album": "A", "tags": [UNKNOWN]}, f"smart_albums[0] (A): tags: '{UNKNOWN}' would match the marker tag "
                                            f"'{UNKNOWN}'"),
        ({"album": "A", "album_name_regex": "("}, "smart_albums[0] (A): invalid regex '('"),
        ({"album": "Best of trips", "album_name_regex": "^Best of "},
         "smart_albums[0] (Best of trips): album_name_regex: '^Best of ' matches the smart album itself"),
    ],
)
def test_config_errors_name_the_smart_album(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_config({"smart_albums": [entry]})
    assert message in err.value.message


def test_config_errors_between_entries_and_features(tmp_path: Path, library: FakeLibrary) -> None:
    with pytest.raises(RuleError, match=r"smart_albums\[1\] \(A\): album: already used by smart_albums\[0\]"):
        parse_config({"smart_albums": [{"album": "A", "tags": "x"}, {"album": "A", "tags": "y"}]})
    cfg = parse_config({"smart_albums": [{"album": "Cats", "tags": "pets"}],
                        "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats"}]}})
    s = fake_session(library, tmp_path / "m.db", "3.1.0", cfg)
    try:
        ops.sync(s)
        with pytest.raises(RuleError, match=r"smart_albums\[0\] \(Cats\): album: tag_albums.rules\[0\] fills"):
            ops.classify(s, dry_run=True)
        s.cfg = parse_config({"smart_albums": [{"album": "A", "sql": "assets.nope = 1"}]})
        with pytest.raises(RuleError, match=r"smart_albums\[0\] \(A\): sql: no such column: assets.nope"):
            ops.classify(s, dry_run=True)
    finally:
        s.close()


def test_a_removal_that_unclassifies_is_marked_in_the_same_run(tmp_path: Path, library: FakeLibrary) -> None:
    """A compilation counting the smart album: a member the rule drops is unclassified at once (the plan's
    rehearsal applies the removal), so the run after plans nothing."""
    ids = _ids(library)
    cfg = {**SMART, "rules": [{"name": "meme", "tags": ["autotag_input_meme"]},
                              {"name": "pets_best", "album_name_regex": "^Pets$", "exclusive": False}]}
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(cfg))
    try:
        ops.run(s)
        assert ids["cat"] not in tagged(library, UNKNOWN)  # classified through its smart album
        library.untag_assets([_tag_id(library, "pets/cat")], [ids["cat"]])
        result = ops.run(s)
        assert result.by_kind == {"album_remove": 1, "tag_add": 1}
        assert ids["cat"] in tagged(library, UNKNOWN) and album(library, "Pets") == set()
        assert ops.classify(s, dry_run=True).summary.changes == 0
    finally:
        s.close()


def test_the_review_page_shows_the_smart_albums_changes_and_a_rejection_holds(
    tmp_path: Path, library: FakeLibrary
) -> None:
    from tests.autotag.web.test_review_api import Page

    ids = _ids(library)
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(SMART))
    try:
        ops.run(s)
        pets = _album_id(library, "Pets")
        library.add_to_album(pets, [ids["other"]])
        library.tag_assets([_tag_id(library, "pets/dog")], [ids["dog"]])
        ops.sync(s)
        page = Page(s, library, tmp_path)
        plan = page.get("/api/plan")
        albums = next(f for f in plan["features"] if f["feature"] == "albums")
        names = {g["name"]: g for g in albums["groups"]}
        assert set(names) == {'add to album "Pets"', 'remove from album "Pets"'}
        removal = names['remove from album "Pets"']
        items = page.get(f"/api/group/{removal['id']}", size=50)["items"]
        assert [(i["asset_id"], i["reason"]) for i in items] == [
            (ids["other"], "smart album rule no longer matches (the rule decides what a smart album holds)")]
        page.post("/api/decide", {"decision": "rejected", "groups": [removal["id"]],
                                  "fingerprint": plan["fingerprint"]})
        ops.run(s)
        assert album(library, "Pets") == {ids["cat"], ids["dog"], ids["other"]}  # the user's choice holds
        again = ops.classify(s, dry_run=True)
        assert again.summary.changes == 0 and again.held_back == 1
    finally:
        s.close()


def test_a_smart_album_of_unclassified_photos_settles_in_one_run(tmp_path: Path, library: FakeLibrary) -> None:
    """"To sort": the unclassified photos. The same run's tag-album rule classifies the cat, so the cat is
    not put in (a later round of the plan takes back the earlier round's addition)."""
    ids = _ids(library)
    cfg = {"smart_albums": [{"album": "To sort", "sql": "assets.id IN (SELECT asset_id FROM unclassified)"}],
           "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "2021-05 Cats",
                                                      "direction": "to_album"}]}}
    s = fake_session(library, tmp_path / "m.db", "3.1.0", parse_config(cfg))
    try:
        first = ops.run(s)
        assert first.push.dead == 0
        assert album(library, "2021-05 Cats") == {ids["cat"]}
        assert album(library, "To sort") == {ids["alice"], ids["dog"], ids["scan"], ids["other"]}
        assert ops.classify(s, dry_run=True).summary.changes == 0
    finally:
        s.close()
