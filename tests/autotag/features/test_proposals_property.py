"""Property: with every organiser feature on, a run never makes the library less organised.

Generated libraries overlap at random: dated folders of an external library, duplicate groups, dated
and undated albums, classifying and ordinary tags. For each one: no asset unclassified before the run
is in conflict after it (classification conflict, duplicate-group conflict, album-date mismatch); the
assets whose proposals compete (an oracle below, written from the spec, not from the SQL) carry the
review marker and nothing else from the features; a rerun plans nothing; undo restores the start.
20 examples in the default suite, 200 with ``make test-slow``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotag import session as ops
from autotag.config import parse_config
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

REVIEW = "autotag_output_review"
CONFLICT = "autotag_output_conflict"
DUP = "autotag_output_duplicate_asset_classification_conflict"
FAR = "autotag_output_album_date_mismatch"
FOLDERS = ("2012-06-04 Camping", "2012-06-20 Beach")
ALBUMS = ("2012-06-10 Hike", "2012-07-01 Lake", "Favourites")  # the last one is not dated: classifies nothing
TAGS = ("autotag_input_meme", "trip", "people/alice")
TAG_ALBUM = "2012-06-15 Trip"  # tag_albums: `trip` -> this album (classifying)
CFG = {
    "duplicates": {"enabled": True},
    "dates": {"enabled": True},
    "album_dates": {"enabled": True},
    "folder_albums": {"enabled": True},
    "tag_albums": {"enabled": True, "rules": [
        {"tag": "trip", "album": TAG_ALBUM, "direction": "to_album"},
        {"tag": "people/alice", "album": "Alice", "direction": "to_album"},  # undated: no classification
    ]},
}


@dataclass(frozen=True)
class Spec:
    folder: int | None
    albums: frozenset[int]
    tags: frozenset[int]
    group: int | None
    day: int  # days after 2012-06-01: every date is within album_dates.max_days of every album


ASSETS = st.builds(
    Spec,
    folder=st.one_of(st.none(), st.integers(0, len(FOLDERS) - 1)),
    albums=st.frozensets(st.integers(0, len(ALBUMS) - 1), max_size=2),
    tags=st.frozensets(st.integers(0, len(TAGS) - 1), max_size=2),
    group=st.one_of(st.none(), st.integers(0, 2)),
    day=st.integers(0, 45),
)


def _build(specs: list[Spec]) -> tuple[FakeLibrary, list[str]]:
    lib = FakeLibrary(seed=1)
    ids = []
    for i, s in enumerate(specs):
        taken = datetime(2012, 6, 1, 12, tzinfo=UTC) + timedelta(days=s.day)
        path = f"/mnt/p/{FOLDERS[s.folder]}/DSC{i}.JPG" if s.folder is not None else f"/mnt/p/misc/DSC{i}.JPG"
        ids.append(lib.add_asset(f"DSC{i}.JPG", original_path=path, library_id="lib-ext",
                                 date_time_original=taken).id)
    for a, name in enumerate(ALBUMS):
        lib.create_album(name, asset_ids=[ids[i] for i, s in enumerate(specs) if a in s.albums])
    for t, value in enumerate(TAGS):
        tag = lib.create_tag(value)
        members = [ids[i] for i, s in enumerate(specs) if t in s.tags]
        if members:
            lib.tag_assets([tag.id], members)
    for g in range(3):
        members = [ids[i] for i, s in enumerate(specs) if s.group == g]
        if len(members) > 1:
            lib.set_duplicate(members, f"{g}{g}{g}{g}{g}{g}{g}{g}-0000-4000-8000-000000000000")
    return lib, ids


def _keys(s: Spec) -> set[str]:
    """What classifies an asset by the default rules: a dated album, or the meme tag."""
    return {f"album:{ALBUMS[a]}" for a in s.albums if ALBUMS[a][0].isdigit()} | (
        {"tag:autotag_input_meme"} if 0 in s.tags else set()
    )


def _own_proposals(s: Spec) -> set[str]:
    return ({f"album:{FOLDERS[s.folder]}"} if s.folder is not None else set()) | (
        {f"album:{TAG_ALBUM}"} if 1 in s.tags else set()
    )


def expected_review(specs: list[Spec]) -> set[int]:
    """The spec's answer: which unclassified assets have competing proposals (no precedence set)."""
    review = set()
    for i, s in enumerate(specs):
        if _keys(s):
            continue  # classified or in conflict already: no proposal applies
        proposals = set(_own_proposals(s))
        if s.group is not None:
            twins = [t for j, t in enumerate(specs) if j != i and t.group == s.group]
            group_keys = set().union(*(_keys(t) for t in twins)) if twins else set()
            if len(group_keys) == 1:
                proposals |= group_keys  # duplicates copies the group's one key
            elif not group_keys:  # no twin classified: twins' proposals are duplicates' proposals
                proposals |= set().union(*(_own_proposals(t) for t in twins)) if twins else set()
            twin_classified = group_keys
        else:
            twin_classified = set()
        accepted = next(iter(proposals)) if len(proposals) == 1 else None
        if len(proposals) > 1 or (accepted and twin_classified and twin_classified != {accepted}):
            review.add(i)
    # A twin's choice that would split its group sends the group's proposed members to review.
    changed = True
    while changed:
        changed = False
        for g in {s.group for s in specs if s.group is not None}:
            members = [i for i, s in enumerate(specs) if s.group == g]
            keys = set().union(*(_keys(specs[i]) for i in members))
            for i in members:
                if not _keys(specs[i]) and i not in review:
                    mine = _proposals_of(specs, i)
                    keys |= mine
            if len(keys) > 1:
                for i in members:
                    if not _keys(specs[i]) and i not in review and _proposals_of(specs, i):
                        review.add(i)
                        changed = True
    return review


def _proposals_of(specs: list[Spec], i: int) -> set[str]:
    s = specs[i]
    proposals = set(_own_proposals(s))
    if s.group is not None:
        twins = [t for j, t in enumerate(specs) if j != i and t.group == s.group]
        group_keys = set().union(*(_keys(t) for t in twins)) if twins else set()
        if len(group_keys) == 1:
            proposals |= group_keys
        elif not group_keys:
            proposals |= set().union(*(_own_proposals(t) for t in twins)) if twins else set()
    return proposals


def _state(lib: FakeLibrary, ids: list[str]) -> dict[str, Any]:
    tags = {t.id: t.value for t in lib.tags.values()}
    return {
        "albums": sorted((a.name, tuple(sorted(ids.index(m) for m in a.members))) for a in lib.albums.values()),
        "tags": sorted((tags[t], tuple(sorted(ids.index(m) for m in members)))
                       for t, members in lib.tag_members.items() if members and t in tags),
        "dates": [lib.assets[a].date_time_original for a in ids],
    }


def _of(pairs: list[tuple[str, tuple[int, ...]]], i: int) -> set[str]:
    return {name for name, members in pairs if i in members}


def _tagged(lib: FakeLibrary, value: str, ids: list[str]) -> set[int]:
    tag = lib.tag_by_value(value)
    return {ids.index(a) for a in lib.tag_members.get(tag.id, set())} if tag else set()


def check(specs: list[Spec]) -> None:
    lib, ids = _build(specs)
    start = _state(lib, ids)
    with tempfile.TemporaryDirectory() as tmp:
        s = fake_session(lib, Path(tmp) / "m.db", "3.1.0", parse_config(CFG))
        try:
            ops.sync(s)
            with s.engine.connect() as conn:
                from autotag.plan import install_rules

                install_rules(s.engine, s.cfg)
                before = {ids.index(a): st for a, st in conn.exec_driver_sql(
                    "SELECT asset_id, status FROM classification")}
            first = ops.run(s)
            assert first.push.dead == 0 and first.push.failed == 0
            with s.engine.connect() as conn:
                after = {ids.index(a): st for a, st in conn.exec_driver_sql(
                    "SELECT asset_id, status FROM classification")}
            flagged = {m: _tagged(lib, m, ids) for m in (CONFLICT, DUP, FAR, REVIEW)}
            split = {s.group for s in specs if s.group is not None
                     and len(set().union(*(_keys(t) for t in specs if t.group == s.group))) > 1}
            with s.engine.connect() as conn:
                why: dict[int, list[tuple[str, str, str]]] = {}
                for k, t, a, r in conn.exec_driver_sql(
                        "SELECT kind, target, asset_id, reason FROM outbox WHERE asset_id IS NOT NULL"):
                    why.setdefault(ids.index(a), []).append((k, t, r))
            for i, status in before.items():
                if status == "unclassified":
                    assert after[i] != "conflict", (i, why.get(i), specs)
                    assert i not in flagged[FAR], (i, why.get(i), specs)
                    assert i not in flagged[DUP] or specs[i].group in split, (i, why.get(i), specs)
            review = expected_review(specs)
            assert flagged[REVIEW] == review, (flagged[REVIEW], review, specs)
            now = _state(lib, ids)
            for i in review:  # nothing else from the features: the same albums and date, only markers added
                assert _of(now["albums"], i) == _of(start["albums"], i), (i, specs)
                assert _of(now["tags"], i) - _of(start["tags"], i) <= {REVIEW, "autotag_output_unknown"}, (i, specs)
                assert now["dates"][i] == start["dates"][i], (i, specs)
            again = ops.run(s)
            assert again.classify.summary.changes == 0 and again.push.sent == 0, (again.classify.summary, specs)
            if first.by_kind:  # (undo refuses a run that changed nothing)
                ops.undo(s, run_id=first.run_id, apply=True)
            assert _state(lib, ids) == start, specs
        finally:
            s.close()


LIBRARIES = st.lists(ASSETS, min_size=2, max_size=7)


# The default suite checks the same 20 libraries every time (derandomize), so a CI run cannot turn red
# on a library no developer has seen; the slow suite below explores 200 new ones each run.
@settings(max_examples=20, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs=LIBRARIES)
def test_a_run_never_makes_the_library_less_organised(specs: list[Spec]) -> None:
    check(specs)


@pytest.mark.slow
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(specs=LIBRARIES)
def test_a_run_never_makes_the_library_less_organised_long(specs: list[Spec]) -> None:
    check(specs)
