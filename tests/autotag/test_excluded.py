"""Hands off what the user excluded: every feature against an excluded album and an excluded tag.

Each case runs a dry run without the exclusion first (the change is planned: the case is real), then
with it (nothing targets the album or tag, and the plan says which rule it blocked once), then a run,
after which the excluded album or tag is as it was on the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autotag import session as ops
from autotag.config import parse_config
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

BEACH = "2019-06-01 Beach"
BASE = "http://fake.test"
UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def make_library() -> FakeLibrary:
    lib = FakeLibrary(seed=20)
    add = lib.add_asset
    on_day = datetime(2019, 6, 1, 12, tzinfo=UTC)
    ids = {
        "inside": add("IMG_20190601_120000.jpg", date_time_original=on_day).id,
        "whatsapp": add("IMG-20190601-WA0001.jpg", file_created_at=UPLOAD).id,  # in the album, date from its name
        "far": add("far.jpg", date_time_original=datetime(2023, 1, 1, tzinfo=UTC)).id,  # in the album, years off
        "twin": add("twin.jpg", date_time_original=on_day).id,  # duplicate of "inside", in no album
        "sand1": add("sand1.jpg", date_time_original=on_day).id,  # tagged places/beach
        "sand2": add("sand2.jpg", date_time_original=on_day).id,
        "meme": add("meme.jpg", date_time_original=on_day).id,
        "meme_twin": add("meme2.jpg", date_time_original=on_day).id,
        "folder": add("DSC1.JPG", original_path=f"/mnt/photos/{BEACH}/DSC1.JPG", library_id="lib-ext",
                      date_time_original=on_day).id,
        "holiday": add("holiday.jpg", date_time_original=on_day).id,  # in "Holiday", gets trips/beach
        "loose": add("loose.jpg", date_time_original=on_day).id,  # unclassified: gets the marker
    }
    lib.create_album(BEACH, asset_ids=[ids["inside"], ids["whatsapp"], ids["far"]])
    lib.create_album("Holiday", asset_ids=[ids["holiday"]])
    beach = lib.create_tag("places/beach")
    lib.tag_assets([beach.id], [ids["sand1"], ids["sand2"], ids["twin"]])
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], [ids["meme"]])
    lib.create_tag("trips")  # the user's, empty
    lib.create_tag("autotag_output_album_date_mismatch")
    unknown = lib.create_tag("autotag_output_unknown")
    lib.tag_assets([unknown.id], [ids["far"]])  # a marker from an earlier run: "far" is classified now
    lib.create_tag("autotag_output_dup")
    lib.set_duplicate([ids["inside"], ids["twin"]], "11111111-1111-4111-8111-111111111111")
    lib.set_duplicate([ids["meme"], ids["meme_twin"]], "22222222-2222-4222-8222-222222222222")
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


def album_link(lib: FakeLibrary) -> str:
    return f"{BASE}/albums/" + next(a.id for a in lib.albums.values() if a.name == BEACH)


def tag_link(value: str) -> Callable[[FakeLibrary], str]:
    return lambda _lib: f"{BASE}/tags?path={value}"


@dataclass(frozen=True)
class Case:
    name: str
    config: dict[str, Any]
    link: Callable[[FakeLibrary], str]
    kind: str  # the plan row kind that must not target the excluded thing
    target: Callable[[FakeLibrary], str]  # what that row targets without the exclusion
    message: str | None  # what the plan says (None: the feature has no rule naming it; its assets are out)


def beach_id(lib: FakeLibrary) -> str:
    return next(a.id for a in lib.albums.values() if a.name == BEACH)


CASES = [
    Case("tag_albums to_album, excluded album",
         {"tag_albums": {"enabled": True, "rules": [{"tag": "places/beach", "album": BEACH, "direction": "to_album"}]}},
         album_link, "album_add", beach_id,
         f'tag_albums.rules[0] (places/beach -> {BEACH}) targets excluded album "{BEACH}": skipped'),
    Case("tag_albums to_tag, excluded tag (a parent of it)",
         {"tag_albums": {"enabled": True,
                         "rules": [{"tag": "trips/beach", "album": "Holiday", "direction": "to_tag"}]}},
         tag_link("trips"), "tag_add", lambda _l: "trips/beach",
         'tag_albums.rules[0] (trips/beach -> Holiday) targets excluded tag "trips/beach": skipped'),
    Case("folder_albums, excluded album",
         {"folder_albums": {"enabled": True}},
         album_link, "album_add", beach_id,
         f'folder_albums targets excluded album "{BEACH}": skipped'),
    Case("duplicates, excluded album (its member is out, the twin does not follow)",
         {"duplicates": {"enabled": True}},
         album_link, "album_add", beach_id, None),
    Case("duplicates, excluded tag (its member is out, the twin does not follow)",
         {"duplicates": {"enabled": True}},
         tag_link("autotag_input_meme"), "tag_add", lambda _l: "autotag_input_meme", None),
    Case("duplicates, excluded conflict tag",
         {"duplicates": {"enabled": True, "conflict_tag": "autotag_output_dup"},
          "rules": [{"name": "event", "album_name_regex": "^\\d{4}"}, {"name": "beach", "tags": "places/beach"}]},
         tag_link("autotag_output_dup"), "tag_add", lambda _l: "autotag_output_dup",
         'duplicates.conflict_tag targets excluded tag "autotag_output_dup": skipped'),
    Case("album_dates, excluded album (its assets are out)",
         {"album_dates": {"enabled": True}},
         album_link, "tag_add", lambda _l: "autotag_output_album_date_mismatch", None),
    Case("album_dates, excluded tag",
         {"album_dates": {"enabled": True}},
         tag_link("autotag_output_album_date_mismatch"), "tag_add", lambda _l: "autotag_output_album_date_mismatch",
         'album_dates.tag targets excluded tag "autotag_output_album_date_mismatch": skipped'),
    Case("dates, excluded album (its assets are out)",
         {"dates": {"enabled": True}},
         album_link, "set_date", lambda _l: "date", None),
    Case("markers, excluded album (a stale marker on its asset stays)",
         {},
         album_link, "tag_remove", lambda _l: "autotag_output_unknown", None),
    Case("markers, excluded marker tag",
         {},
         tag_link("autotag_output_unknown"), "tag_add", lambda _l: "autotag_output_unknown",
         'markers.unclassified targets excluded tag "autotag_output_unknown": skipped'),
    Case("smart_albums, excluded tag (its assets are out)",
         {"smart_albums": [{"album": "Sandy", "tags": "places/beach"}]},
         tag_link("places/beach"), "album_add", lambda _l: "name:Sandy", None),
    Case("smart_albums, excluded album (its assets are out)",
         {"smart_albums": [{"album": "Everything", "album_name_regex": f"^{BEACH}$"}]},
         album_link, "album_add", lambda _l: "name:Everything", None),
]


def _rows(session: Any) -> tuple[set[tuple[str, str, str | None]], list[tuple[str, str]]]:
    result = ops.classify(session, dry_run=True, preview=None)
    return {(r.kind, r.target, r.asset_id) for r in result.rows}, result.problems


def _scope(session: Any) -> set[str]:
    with session.engine.connect() as conn:
        return {str(a) for (a,) in conn.exec_driver_sql("SELECT asset_id FROM scope_exclude")}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_excluded_album_or_tag_is_never_a_target(tmp_path: Path, version: str, case: Case) -> None:
    lib = make_library()
    s = fake_session(lib, tmp_path / "m.db", version, parse_config(case.config))
    try:
        ops.sync(s)
        link = case.link(lib)
        s.cfg = parse_config({**case.config, "exclude": [link]})
        _rows(s)
        out = _scope(s)  # the assets the link names

        def hits(rows: set[tuple[str, str, str | None]]) -> set[tuple[str, str, str | None]]:
            return {r for r in rows if r[0] == case.kind and (r[1] == case.target(lib) or r[2] in out)}

        s.cfg = parse_config(case.config)
        assert hits(_rows(s)[0]), "without the exclusion the change is planned"
        s.cfg = parse_config({**case.config, "exclude": [link]})
        rows, problems = _rows(s)
        assert hits(rows) == set()
        assert [p for f, p in problems if f == "exclude"] == ([case.message] if case.message else [])

        before = lib.snapshot()
        ops.run(s)
        after = lib.snapshot()
        for aid in out:
            assert after["assets"][aid] == before["assets"][aid]
        if "/albums/" in link:
            assert after["albums"][beach_id(lib)]["asset_ids"] == before["albums"][beach_id(lib)]["asset_ids"]
        else:
            value = link.split("path=")[1]

            def links(snap: dict[str, Any]) -> set[tuple[str, str]]:
                under = {t for t, tag in snap["tags"].items()
                         if tag["value"] == value or tag["value"].startswith(value + "/")}
                return {(a, t) for a, t in snap["asset_tags"] if t in under}

            assert links(after) == links(before)
    finally:
        s.close()
