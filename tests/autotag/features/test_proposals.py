"""Organiser features propose; an unclassified asset gets at most one classification (autotag.proposals)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.fake.library import FakeLibrary
from tests.autotag.features.test_loop import ALL_ON, album, tagged
from tests.helpers import fake_session

REVIEW = "autotag_output_review"
FEATURE_MARKERS = ("autotag_output_conflict", "autotag_output_duplicate_asset_classification_conflict",
                   "autotag_output_album_date_mismatch")


def _camping_library() -> FakeLibrary:
    """The issue's asset: in no album, stored in the folder '2012-06-04 Camping', a duplicate of a member
    of '2013-01-03 Alps hike'; and a classified asset stored in that folder too."""
    lib = FakeLibrary(seed=3)
    add = lib.add_asset
    ids = {
        # dated within album_dates.max_days of both albums: either would be credible on its own
        "lost": add("DSC1.JPG", original_path="/mnt/photos/2012-06-04 Camping/DSC1.JPG", library_id="lib-ext",
                    date_time_original=datetime(2012, 9, 15, 9, tzinfo=UTC)).id,
        "hike": add("hike.jpg", date_time_original=datetime(2012, 9, 15, 9, tzinfo=UTC)).id,
        "sorted": add("DSC2.JPG", original_path="/mnt/photos/2012-06-04 Camping/DSC2.JPG", library_id="lib-ext",
                      date_time_original=datetime(2013, 1, 3, 9, tzinfo=UTC)).id,
        "other": add("DSC3.JPG", original_path="/mnt/photos/2012-06-04 Camping/DSC3.JPG", library_id="lib-ext",
                     date_time_original=datetime(2012, 6, 4, 10, tzinfo=UTC)).id,
    }
    lib.create_album("2013-01-03 Alps hike", asset_ids=[ids["hike"], ids["sorted"]])
    lib.set_duplicate([ids["lost"], ids["hike"]], "44444444-4444-4444-8444-444444444444")
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


@pytest.fixture
def lib() -> FakeLibrary:
    return _camping_library()


def _session(tmp_path: Path, lib: FakeLibrary, version: str, **extra: Any) -> Session:
    # Date repair off: it would date 'hike' by its twin's folder (a change of its own, not a proposal).
    cfg = {**ALL_ON, "dates": {"enabled": False}, **extra}
    return fake_session(lib, tmp_path / "m.db", version, parse_config(cfg))


@pytest.fixture
def session(tmp_path: Path, lib: FakeLibrary, version: str) -> Iterator[Session]:
    s = _session(tmp_path, lib, version)
    yield s
    s.close()


def test_competing_proposals_apply_none_and_name_each_in_the_review_reason(session: Session, lib: FakeLibrary) -> None:
    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    ops.sync(session)
    dry = ops.classify(session, dry_run=True, preview=None)
    mine = [r for r in dry.rows if r.asset_id == ids["lost"]]
    assert [(r.kind, r.target, r.features) for r in mine] == [("tag_add", REVIEW, "review")] + [
        (r.kind, r.target, r.features) for r in mine if r.target == "autotag_output_unknown"
    ]
    review = next(r for r in mine if r.target == REVIEW)
    assert review.reason == (
        "review: duplicate says album '2013-01-03 Alps hike'; folder says album '2012-06-04 Camping'"
    )
    ops.run(session)
    assert ids["lost"] not in album(lib, "2013-01-03 Alps hike")
    assert album(lib, "2012-06-04 Camping") == {ids["other"]}  # the classified asset is never moved
    assert tagged(lib, REVIEW) == {ids["lost"]}
    for marker in FEATURE_MARKERS:
        assert ids["lost"] not in tagged(lib, marker), marker
        assert ids["sorted"] not in tagged(lib, marker), marker
    assert ops.run(session).classify.summary.changes == 0

    # The user settles it by hand: the review marker comes off.
    hike = next(a for a in lib.albums.values() if a.name == "2013-01-03 Alps hike")
    lib.add_to_album(hike.id, [ids["lost"]])
    ops.run(session)
    assert tagged(lib, REVIEW) == set()
    assert ops.run(session).classify.summary.changes == 0


def test_precedence_settles_what_the_user_ranks(tmp_path: Path, lib: FakeLibrary, version: str) -> None:
    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    s = _session(tmp_path, lib, version, precedence=["duplicates", "folder_albums"])
    try:
        ops.run(s)
        assert ids["lost"] in album(lib, "2013-01-03 Alps hike")
        assert album(lib, "2012-06-04 Camping") == {ids["other"]}
        assert tagged(lib, REVIEW) == set()
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()


def test_precedence_never_splits_a_duplicate_group(tmp_path: Path, lib: FakeLibrary, version: str) -> None:
    """Folders over duplicates would put the twin of an 'Alps hike' member into 'Camping': the group would
    disagree, so the asset goes to review instead."""
    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    s = _session(tmp_path, lib, version, precedence=["folder_albums", "duplicates"])
    try:
        ops.run(s)
        assert tagged(lib, REVIEW) == {ids["lost"]}
        assert tagged(lib, "autotag_output_duplicate_asset_classification_conflict") == set()
    finally:
        s.close()


def _photo(lib: FakeLibrary, name: str, folder: str | None = None,
           taken: datetime = datetime(2012, 6, 4, tzinfo=UTC)) -> str:
    """An asset taken ``taken``; with ``folder``, in that folder of an external library (``/mnt/p/<folder>``)."""
    if folder is None:
        return lib.add_asset(name, date_time_original=taken).id
    return lib.add_asset(name, original_path=f"/mnt/p/{folder}/{name}", library_id="lib-ext",
                         date_time_original=taken).id


def test_unclassified_twins_in_different_folders_both_go_to_review(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=4)
    a = _photo(lib, "A.JPG", "2012-06-04 Camping")
    b = _photo(lib, "B.JPG", "2012-06-05 Beach")
    c = _photo(lib, "C.JPG")
    lib.set_duplicate([a, b, c], "55555555-5555-4555-8555-555555555555")
    s = fake_session(lib, tmp_path / "m.db", version, parse_config(ALL_ON))
    try:
        result = ops.run(s)
        assert result.push.dead == 0
        assert tagged(lib, REVIEW) == {a, b, c}
        assert not [x for x in lib.albums.values() if x.members]
        assert tagged(lib, "autotag_output_duplicate_asset_classification_conflict") == set()
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()


def test_a_twin_follows_its_twins_folder_in_the_same_plan(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=4)
    a = _photo(lib, "A.JPG", "2012-06-04 Camping")
    b = _photo(lib, "B.JPG")
    lib.set_duplicate([a, b], "66666666-6666-4666-8666-666666666666")
    s = fake_session(lib, tmp_path / "m.db", version, parse_config(ALL_ON))
    try:
        dry = ops.classify(s, dry_run=True, preview=None) if ops.sync(s) else None
        assert dry is not None
        adds = {(r.asset_id, r.target_name, r.features) for r in dry.rows if r.kind == "album_add"}
        assert adds == {(a, "2012-06-04 Camping", "folder_albums"), (b, "2012-06-04 Camping", "duplicates")}
        assert dry.summary.kinds["album_create"] == 1
        ops.run(s)
        assert album(lib, "2012-06-04 Camping") == {a, b}
        assert tagged(lib, REVIEW) == set()
    finally:
        s.close()


def test_precedence_is_checked() -> None:
    from immich_mirror.errors import ConfigError

    with pytest.raises(ConfigError, match="precedence"):
        parse_config({"precedence": ["folders"]})
    with pytest.raises(ConfigError, match="twice"):
        parse_config({"precedence": ["duplicates", "duplicates"]})


def test_an_album_far_from_the_assets_date_is_no_answer(tmp_path: Path, version: str) -> None:
    """Album dates would flag it at once: the folder's album is not applied, and the review names the date."""
    lib = FakeLibrary(seed=4)
    a = _photo(lib, "A.JPG", "2012-06-04 Camping", taken=datetime(2015, 3, 1, 9, tzinfo=UTC))
    s = _session(tmp_path, lib, version)
    try:
        ops.sync(s)
        dry = ops.classify(s, dry_run=True, preview=None)
        [review] = [r for r in dry.rows if r.target == REVIEW]
        assert review.asset_id == a
        assert review.reason == (
            "review: folder says album '2012-06-04 Camping' (taken 2015-03-01, more than 180 days from it)"
        )
        assert not [r for r in dry.rows if r.kind == "album_add"]
    finally:
        s.close()


def test_a_person_settles_a_review_on_the_review_page(tmp_path: Path, lib: FakeLibrary, version: str) -> None:
    """autotag review: the review marker's photo offers its competing proposals; choosing one applies it
    (and no marker) from the next plan on; rejecting the marker keeps it off, held back, in every plan."""
    from autotag import review

    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    s = _session(tmp_path, lib, version)
    try:
        ops.sync(s)
        page = review.load_plan(s)
        item = next(i for i in page.items_by_key.values() if i.target == REVIEW and i.asset_id == ids["lost"])
        assert [label for _k, _kind, _t, label in item.choices] == [
            "duplicate says album '2013-01-03 Alps hike'", "folder says album '2012-06-04 Camping'",
        ]
        # -- reject the marker: held out of every plan (and counted so), the asset gets nothing else either
        review.record(s, [item], "rejected")
        dry = ops.classify(s, dry_run=True, preview=None)
        assert not [r for r in dry.rows if r.asset_id == ids["lost"] and r.features != "rules"]
        assert dry.held_back == 1
        ops.run(s)
        assert tagged(lib, REVIEW) == set() and ids["lost"] not in album(lib, "2013-01-03 Alps hike")
        assert ops.run(s).classify.summary.changes == 0
        # -- lift it and choose the folder's album instead: that one is applied, no marker
        review.lift_rejections(s, [item.key])
        page = review.load_plan(s)
        item = page.items_by_key[item.key]
        folder = next(c for c in item.choices if c[3].startswith("folder says"))
        review.choose(s, item, folder[0])
        dry = ops.classify(s, dry_run=True, preview=None)
        mine = {(r.kind, r.target_name) for r in dry.rows if r.asset_id == ids["lost"]}
        assert ("album_add", "2012-06-04 Camping") in mine and ("tag_add", REVIEW) not in mine
        ops.run(s)
        assert ids["lost"] in album(lib, "2012-06-04 Camping")
        assert tagged(lib, REVIEW) == set()
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()


def test_a_choice_holds_once_the_album_it_names_exists(tmp_path: Path, lib: FakeLibrary, version: str) -> None:
    """Chosen while the folder's album was still to be created (``name:`` target); the album then appears
    (another run, or the user, made it): the choice still settles the photo."""
    from autotag import review

    ids: dict[str, str] = lib.ids  # type: ignore[attr-defined]
    s = _session(tmp_path, lib, version)
    try:
        ops.sync(s)
        item = next(i for i in review.load_plan(s).items_by_key.values()
                    if i.target == REVIEW and i.asset_id == ids["lost"])
        folder = next(c for c in item.choices if c[3].startswith("folder says"))
        assert folder[2] == "name:2012-06-04 Camping"
        review.choose(s, item, folder[0])
        lib.create_album("2012-06-04 Camping", asset_ids=[])
        ops.sync(s)
        ops.run(s)
        assert ids["lost"] in album(lib, "2012-06-04 Camping") and tagged(lib, REVIEW) == set()
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()
