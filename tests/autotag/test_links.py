"""Web links in exclude:/only: every form resolves to the right assets; bad links are one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.links import KINDS, LinkTarget, parse_link, resolve_config_links, write_scope
from autotag.session import Session
from immich_mirror.errors import ConfigError
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_client

BASE = "http://fake.test"
UNKNOWN = "autotag_output_unknown"


@dataclass
class World:
    lib: FakeLibrary
    ids: list[str]
    album: str
    tagged: set[str]
    person: str
    share_key: str
    individual_key: str


def make_library() -> World:
    lib = FakeLibrary(seed=11)
    ids = [
        lib.add_asset(f"IMG_{i:02d}.jpg", original_path=f"/photos/{'2019' if i < 4 else '2020'}/IMG_{i:02d}.jpg").id
        for i in range(12)
    ]
    lib.update_asset(ids[6], original_file_name="beach_party.jpg")
    album = lib.create_album("2019-06-01 Beach", asset_ids=ids[:3]).id
    trips = lib.create_tag("trips/italy")
    rome = lib.create_tag("trips/italy/rome")
    italyish = lib.create_tag("trips/italyish")  # a prefix of the value, not a descendant
    lib.tag_assets([trips.id], [ids[3]])
    lib.tag_assets([rome.id], [ids[4]])
    lib.tag_assets([italyish.id], [ids[5]])
    person = lib.add_person("Alice", [ids[7], ids[8]]).id
    share = lib.create_shared_link(album).key
    individual = lib.create_shared_link(None, [ids[9], ids[10]], slug="my-pick").key
    return World(lib, ids, album, {ids[3], ids[4]}, person, share, individual)


@pytest.fixture
def world() -> World:
    return make_library()


def new_session(tmp_path: Path, world: World, **cfg: object) -> Session:
    return Session(
        cfg=AutotagConfig(**cfg),  # type: ignore[arg-type]
        db_path=tmp_path / "m.db",
        client_factory=lambda: fake_client(world.lib),
        sleep=lambda _s: None,
    )


@pytest.fixture
def synced(tmp_path: Path, world: World) -> Iterator[Session]:
    s = new_session(tmp_path, world)
    ops.sync(s)
    yield s
    s.close()


def resolve(s: Session, link: str, section: str = "exclude") -> set[str]:
    s.cfg = s.cfg.model_copy(update={"exclude": [link] if section == "exclude" else [], "only": []})
    (r,) = resolve_config_links(s)
    return set(r.asset_ids)


def test_every_form_resolves_to_its_assets(synced: Session, world: World) -> None:
    ids, album = world.ids, world.album
    search = quote(json.dumps({"originalFileName": "beach"}))
    cases = {
        ids[5]: {ids[5]},
        album: set(ids[:3]),
        f"{BASE}/photos/{ids[1]}": {ids[1]},
        f"{BASE}/albums/{album}/photos/{ids[2]}": {ids[2]},
        f"{BASE}/search/photos/{ids[3]}": {ids[3]},
        f"{BASE}/people/{world.person}/photos/{ids[7]}": {ids[7]},
        f"{BASE}/archive/photos/{ids[4]}": {ids[4]},
        f"{BASE}/albums/{album}": set(ids[:3]),
        f"{BASE}/albums/{album}?foo=1#x": set(ids[:3]),
        f"{BASE}/share/{world.share_key}": set(ids[:3]),
        f"{BASE}/s/my-pick": {ids[9], ids[10]},
        f"{BASE}/share/{world.individual_key}/photos/{ids[9]}": {ids[9]},
        f"{BASE}/tags?path=trips%2Fitaly": world.tagged,
        f"{BASE}/tags?path=trips/italy/rome": {ids[4]},
        f"{BASE}/folders?path=%2Fphotos%2F2019": set(ids[:4]),
        f"{BASE}/folders?path=/photos/2019/": set(ids[:4]),
        f"{BASE}/people/{world.person}": {ids[7], ids[8]},
        f"{BASE}/search?query={search}": {ids[6]},
        f"{BASE}/partners/{world.lib.owner_id}": set(ids),
        f"/albums/{album}": set(ids[:3]),
        f"fake.test/photos/{ids[0]}": {ids[0]},
        f"  {BASE.upper().replace('HTTP', 'http')}/photos/{ids[0].upper()}  ": {ids[0]},
    }
    for link, expected in cases.items():
        assert resolve(synced, link) == expected, link


def test_album_and_tag_links_also_name_what_is_never_a_target(synced: Session, world: World) -> None:
    """Every form naming an album (link, bare id, the album's share link) or a tag keeps it in
    scope_exclude_albums / scope_exclude_tags; a photo, folder or person link names no album or tag."""
    album = world.album
    cases: dict[str, tuple[set[str], set[str]]] = {
        f"{BASE}/albums/{album}": ({album}, set()),
        album: ({album}, set()),
        f"{BASE}/share/{world.share_key}": ({album}, set()),
        f"{BASE}/albums/{album}/photos/{world.ids[2]}": (set(), set()),
        f"{BASE}/s/my-pick": (set(), set()),
        f"{BASE}/tags?path=trips%2Fitaly%2F": (set(), {"trips/italy"}),
        f"{BASE}/folders?path=/photos/2019": (set(), set()),
        f"{BASE}/people/{world.person}": (set(), set()),
    }
    for link, (albums, tags) in cases.items():
        synced.cfg = synced.cfg.model_copy(update={"exclude": [link], "only": []})
        write_scope(synced.engine, resolve_config_links(synced))
        with synced.engine.connect() as conn:
            got_albums = {str(a) for (a,) in conn.exec_driver_sql("SELECT album_id FROM scope_exclude_albums")}
            got_tags = {str(t) for (t,) in conn.exec_driver_sql("SELECT tag_value FROM scope_exclude_tags")}
        assert (got_albums, got_tags) == (albums, tags), link


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("https://other.example.com/photos/{a}", "not the configured server"),
        ("http://fake.test:8080/photos/{a}", "not the configured server"),
        ("http://fake.test/map#12/48.1/11.5", "not a selection"),
        ("http://fake.test/explore", "not a selection"),
        ("http://fake.test/places", "not a selection"),
        ("http://fake.test/", "not a selection"),
        ("http://fake.test/albums/not-a-uuid", "not an album id"),
        ("http://fake.test/albums/00000000-0000-4000-8000-000000000000", "no such album"),
        ("http://fake.test/photos/00000000-0000-4000-8000-000000000000", "no such asset"),
        ("00000000-0000-4000-8000-000000000000", "neither an asset nor an album"),
        ("http://fake.test/share/nokey", "no shared link"),
        ("http://fake.test/tags?path=nope", "no tag"),
        ("http://fake.test/tags", "no path="),
        ("http://fake.test/folders?path=/nowhere", "no asset in the mirror is under"),
        ('http://fake.test/search?query={"query":"cat"}', "smart"),
        ("http://fake.test/search?query={bad", "not valid JSON"),
        ('http://fake.test/search?query={"takenAfter":"soon"}', "Immich refused it"),
        ("ftp://fake.test/photos/x", "scheme"),
        ("", "empty"),
    ],
)
def test_bad_links_are_one_line_config_errors(synced: Session, world: World, link: str, why: str) -> None:
    link = link.replace("{a}", world.ids[0])
    with pytest.raises(ConfigError) as info:
        resolve(synced, link)
    message = info.value.message
    assert why in message and "\n" not in message
    if link:
        assert repr(link.strip())[:100] in message or link.strip()[:60] in message


def markers(lib: FakeLibrary) -> set[str]:
    tag = lib.tag_by_value(UNKNOWN)
    return set(lib.tag_members.get(tag.id, set())) if tag else set()


def test_excluded_assets_get_no_marker_and_keep_theirs(tmp_path: Path, world: World) -> None:
    lib, ids = world.lib, world.ids
    keep, fresh = ids[8], ids[11]
    lib.purge([fresh])  # `fresh` comes back later as a new, unclassified asset
    s = new_session(tmp_path, world)
    ops.run(s)
    assert keep in markers(lib)  # no rule matches it
    # now it should lose its marker (it joins a date album) and a new unclassified asset appears:
    lib.add_to_album(world.album, [keep])
    new = lib.add_asset("new.jpg").id
    s.cfg = s.cfg.model_copy(update={"exclude": [f"{BASE}/photos/{keep}", new]})
    result = ops.run(s)
    assert keep in markers(lib), "an excluded asset keeps the marker a rule would remove"
    assert new not in markers(lib), "an excluded asset gets no marker"
    assert result.push.sent == 0
    # Taking the exclusion away lets the rules act again.
    s.cfg = s.cfg.model_copy(update={"exclude": []})
    ops.run(s)
    assert keep not in markers(lib) and new in markers(lib)
    s.close()


def test_exclusion_cancels_changes_already_queued(tmp_path: Path, world: World) -> None:
    s = new_session(tmp_path, world)
    ops.sync(s)
    queued = ops.classify(s, dry_run=False)
    assert queued.enqueued is not None and queued.enqueued.added > 0
    s.cfg = s.cfg.model_copy(update={"exclude": [f"{BASE}/folders?path=/photos"]})
    ops.classify(s, dry_run=False)
    assert ops.push(s).sent == 0 and markers(world.lib) == set()
    s.close()


def test_only_restricts_every_rule(tmp_path: Path, world: World) -> None:
    s = new_session(tmp_path, world, only=[f"{BASE}/folders?path=/photos/2020"])
    ops.run(s)
    unclassified_2020 = set(world.ids[4:])  # none of them is in the date album
    assert markers(world.lib) == unclassified_2020
    with s.engine.connect() as conn:
        sources = {r[0] for r in conn.exec_driver_sql("SELECT DISTINCT source FROM scope_only")}
    assert sources == {f"{BASE}/folders?path=/photos/2020"}
    s.close()


def test_only_that_selects_nothing_refuses(tmp_path: Path, world: World) -> None:
    empty = world.lib.create_album("empty").id
    s = new_session(tmp_path, world, only=[empty])
    ops.sync(s)
    with pytest.raises(ConfigError, match="select no asset"):
        ops.classify(s, dry_run=True)
    s.close()


# ------------------------------------------------------------------------------------------ fuzz
BASES = st.sampled_from(["http://fake.test", "https://photos.example.com", "http://nas:2283/immich"])
UUIDS = st.uuids().map(str)
TEXT = st.text(min_size=1, max_size=30).filter(lambda t: t.strip() == t and "\x00" not in t)


@st.composite
def targets(draw: st.DrawFn) -> LinkTarget:
    kind = draw(st.sampled_from(KINDS))
    if kind in ("id", "asset", "album", "person", "partner"):
        return LinkTarget(kind, draw(UUIDS))
    if kind == "share":
        return LinkTarget(kind, draw(st.text("abcdefABCDEF0123456789-_", min_size=1, max_size=40)))
    if kind == "slug":
        # A slug that is itself "photos" followed by nothing is still a slug; one that ends the
        # path like an asset link cannot be written, so slugs here are not "photos".
        return LinkTarget(kind, draw(TEXT.filter(lambda t: t not in ("photos", ".", ".."))))
    if kind == "search":
        body = draw(st.dictionaries(st.sampled_from(["originalFileName", "city", "make", "isFavorite"]),
                                    st.one_of(TEXT, st.booleans()), min_size=1))
        return LinkTarget(kind, json.dumps(body, sort_keys=True, separators=(",", ":")))
    return LinkTarget(kind, draw(TEXT))


@settings(max_examples=300, deadline=None)
@given(target=targets(), base=BASES)
def test_known_forms_round_trip(target: LinkTarget, base: str) -> None:
    assert parse_link(target.url(base), base) == target


URL_PIECES = st.sampled_from(
    ["http://", "https://", "fake.test", "/", "photos", "albums", "share", "s", "tags", "folders", "people",
     "search", "?path=", "?query=", "%2F", "%", "{", "}", "#", ":", "[", "]", "@", "..", " ", "\n", "query",
     "00000000-0000-4000-8000-000000000000", "map", "ftp://", "//", ":99999", "\\", "é"]
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=80), st.lists(URL_PIECES, max_size=12).map("".join)), base=BASES)
def test_parse_never_raises_anything_but_config_error(text: str, base: str) -> None:
    try:
        target = parse_link(text, base)
    except ConfigError as exc:
        assert "\n" not in exc.message
        return
    assert target.kind in KINDS


# ------------------------------------------------------------------------------------------ CLI
def test_links_check_and_exclude_flag(
    tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from autotag import cli

    def inject(**cfg: object) -> None:
        monkeypatch.setattr(cli.state, "session", new_session(tmp_path, world, **cfg))

    album_link = f"{BASE}/albums/{world.album}"
    inject(exclude=[album_link])
    ops.sync(cli.state.session)  # type: ignore[arg-type]
    inject(exclude=[album_link])
    assert cli.main(["links", "check", "--only", f"{BASE}/tags?path=trips"]) == 0
    out = capsys.readouterr().out
    assert f"exclude: {album_link}" in out and f"album {world.album}: 3 asset(s)" in out
    assert f"{BASE}/photos/{sorted(world.ids[:3])[0]}" in out
    assert "only: http://fake.test/tags?path=trips" in out and "tag trips: 3 asset(s)" in out

    inject()
    assert cli.main(["--db", str(tmp_path / "m.db"), "classify", "--exclude", album_link, "--exclude",
                     world.ids[5], "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    touched = {m["asset_id"] for m in plan["mutations"]}
    assert touched and not touched & {*world.ids[:3], world.ids[5]}

    inject()
    code = cli.main(["classify", "--dry-run", "--exclude", "https://elsewhere.example/photos/x"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: link 'https://elsewhere.example/photos/x'") and "\n" not in err


def test_documented_examples_parse() -> None:
    import re

    import yaml

    doc = (Path(__file__).parents[2] / "docs" / "links.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", doc, flags=re.S)
    assert block is not None
    cfg = AutotagConfig(**yaml.safe_load(block.group(1)))
    kinds = {parse_link(link, "https://photos.example.com").kind for link in [*cfg.exclude, *cfg.only]}
    assert kinds == {"album", "asset", "tag", "folder"}
