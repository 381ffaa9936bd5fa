"""Shared test helpers: a client wired to the in-process fake server, and mirror == server checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from autotag.config import AutotagConfig, parse_config
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.api.retry import RetryPolicy
from immich_mirror.fake.app import create_app
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import running_fake_server

VERSIONS = ("2.7.5", "3.1.0", "3.2.2")
API_KEY = "fake-api-key"


def stepping_clock(step: timedelta = timedelta(milliseconds=1)) -> Callable[[], datetime]:
    """A clock that moves `step` forward on every reading, so two changes never share a millisecond.

    Tests that compare change times must not depend on the wall clock: on a fast machine two writes land in
    the same millisecond, and the fake (like Postgres' now()) stamps them alike.
    """
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def read() -> datetime:
        nonlocal now
        now += step
        return now

    return read


def fake_client(
    library: FakeLibrary, version: str = "3.1.0", api_key: str = API_KEY, **app_kw: Any
) -> ImmichClient:
    library.version = version
    http = TestClient(create_app(library, version=version, **app_kw), base_url="http://fake.test")
    return ImmichClient("http://fake.test", api_key, http=http, retry=RetryPolicy.no_sleep(4))


def fake_session(
    library: FakeLibrary, db_path: Path, version: str = "3.1.0", cfg: AutotagConfig | None = None
) -> Session:
    """A session on ``db_path`` whose client talks to the in-process fake, and that never sleeps."""
    return Session(
        cfg=cfg or AutotagConfig(),
        db_path=db_path,
        client_factory=lambda: fake_client(library, version),
        sleep=lambda _s: None,
    )


def fake_session_fixture(config: dict[str, Any] | None = None, *, every_version: bool = True) -> Any:
    """A module's ``session`` fixture: a fake session over its ``library`` fixture with ``config``,
    closed after the test; on each Immich version the fake emulates unless ``every_version`` is off."""

    def cfg() -> AutotagConfig:  # parsed per test: no test sees another's config object
        return parse_config(config) if config is not None else AutotagConfig()

    if every_version:
        @pytest.fixture
        def session(tmp_path: Path, library: FakeLibrary, version: str) -> Iterator[Session]:
            s = fake_session(library, tmp_path / "m.db", version, cfg())
            yield s
            s.close()
    else:
        @pytest.fixture
        def session(tmp_path: Path, library: FakeLibrary) -> Iterator[Session]:
            s = fake_session(library, tmp_path / "m.db", cfg=cfg())
            yield s
            s.close()
    return session


def small_library() -> FakeLibrary:
    """Twelve photos with a date in their names, the first four in one album."""
    lib = FakeLibrary(seed=11)
    ids = [lib.add_asset(f"IMG_20190412_1530{i:02d}.jpg").id for i in range(12)]
    lib.create_album("2019-06-01 Beach", asset_ids=ids[:4])
    return lib


def add_cats_and_dog(lib: FakeLibrary) -> dict[str, str]:
    """Three dated photos, cat1, cat2 and dog (name -> asset id), for the tag/album ownership tests."""
    add = lib.add_asset
    return {
        "cat1": add("cat1.jpg", date_time_original=datetime(2021, 5, 5, tzinfo=UTC)).id,
        "cat2": add("cat2.jpg", date_time_original=datetime(2021, 5, 6, tzinfo=UTC)).id,
        "dog": add("dog.jpg", date_time_original=datetime(2021, 5, 7, tzinfo=UTC)).id,
    }


def isolate_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, mirror or instance URL from the developer's environment reaches the CLI."""
    for name in ("IMMICH_INSTANCE_URL", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@contextmanager
def serving(library: FakeLibrary, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``library`` served over HTTP, with IMMICH_URL and IMMICH_API_KEY naming it for the CLI."""
    with running_fake_server(library) as (url, key):
        monkeypatch.setenv("IMMICH_URL", url)
        monkeypatch.setenv("IMMICH_API_KEY", key)
        yield


def ancestors_pruned(tag_ids: set[str], parents: dict[str, str | None]) -> set[str]:
    """Direct tags as the mirror can know them: a tag with a tagged descendant is left out (docs/schema.md)."""
    covered = set()
    for t in tag_ids:
        p = parents.get(t)
        while p:
            covered.add(p)
            p = parents.get(p)
    return tag_ids - covered


# Every asset column the mirror keeps that the server's own state can say (raw JSON aside), but
# updated_at: a push's tag writes move it on the server (after its jobs) while the pusher writes only
# their effect into the mirror, and the next sync reads the new stamp; and deleted_at, which the API
# does not report (the mirror keeps the updatedAt of a trashed asset, docs/schema.md): is_trashed stands
# for it.
ASSET_FIELDS = (
    "owner_id", "type", "original_file_name", "original_path", "checksum", "file_created_at",
    "file_modified_at", "local_date_time", "date_time_original", "time_zone", "created_at",
    "visibility", "is_favorite", "duplicate_id", "stack_id", "live_photo_video_id",
    "library_id", "width", "height",
)
_TIMES = {"file_created_at", "file_modified_at", "local_date_time", "date_time_original", "created_at"}


def _instant(value: Any) -> Any:
    """Times compared as instants: the mirror stores Immich's ISO text, the fake keeps datetimes."""
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _asset_view(row: Any) -> dict[str, Any]:
    view = {f: (_instant(row[f]) if f in _TIMES else row[f]) for f in ASSET_FIELDS}
    view["is_favorite"] = bool(view["is_favorite"])
    view["is_trashed"] = row["deleted_at"] is not None
    return view


def mirror_state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        assets = {r["id"]: _asset_view(r) for r in conn.execute(text("SELECT * FROM assets")).mappings()}
        albums = {
            r.id: (r.name, r.owner_id, _instant(r.updated_at))
            for r in conn.execute(text("SELECT id, name, owner_id, updated_at FROM albums"))
        }
        members: dict[str, set[str]] = {a: set() for a in albums}
        for album_id, asset_id in conn.execute(text("SELECT album_id, asset_id FROM album_assets")):
            members[album_id].add(asset_id)
        tags = {
            r.id: (r.value, r.parent_id, r.color)
            for r in conn.execute(text("SELECT id, value, parent_id, color FROM tags"))
        }
        links = {(a, t) for a, t in conn.execute(text("SELECT asset_id, tag_id FROM asset_tags"))}
    return {"assets": assets, "albums": albums, "members": members, "tags": tags, "links": links}


def server_state(library: FakeLibrary, owner_id: str | None = None) -> dict[str, Any]:
    snap = library.snapshot()
    owner = owner_id or library.owner_id
    assets = {
        # Without an EXIF date Immich reports the file date (fake/serialize.py exif): so must the mirror.
        aid: _asset_view({**a, "date_time_original": a["date_time_original"] or a["file_created_at"]})
        for aid, a in snap["assets"].items()
        if a["owner_id"] == owner and a["visibility"] != "locked"
    }
    visible_albums = {
        aid: al
        for aid, al in snap["albums"].items()
        if al["owner_id"] == owner or owner in library.albums[aid].shared_with
    }
    albums = {aid: (al["name"], al["owner_id"], al["updated_at"]) for aid, al in visible_albums.items()}
    members = {aid: set(al["asset_ids"]) for aid, al in visible_albums.items()}
    tags = {
        tid: (t["value"], t["parent_id"], t["color"]) for tid, t in snap["tags"].items() if t["user_id"] == owner
    }
    parents = {tid: p for tid, (_v, p, _c) in tags.items()}
    per_asset: dict[str, set[str]] = {}
    for a, t in snap["asset_tags"]:
        if a in assets and t in tags:
            per_asset.setdefault(a, set()).add(t)
    links = {(a, t) for a, ts in per_asset.items() for t in ancestors_pruned(ts, parents)}
    exact = {(a, t) for a, ts in per_asset.items() for t in ts}
    return {"assets": assets, "albums": albums, "members": members, "tags": tags, "links": links, "exact": exact}


def _fields_that_differ(mirror: Any, server: Any) -> Any:
    """(mirror, server) for each field that differs, or the two values when not both records."""
    if isinstance(mirror, dict) and isinstance(server, dict):
        return {f: (mirror.get(f), server.get(f)) for f in set(mirror) | set(server) if mirror.get(f) != server.get(f)}
    return (mirror, server)


def assert_mirror_equals_server(engine: Engine, library: FakeLibrary) -> None:
    mirror = mirror_state(engine)
    server = server_state(library)
    # Direct links are exact except for an asset tagged with a tag and one of its descendants, which a
    # tag search cannot tell apart (docs/schema.md): the mirror may then hold the pruned set or the exact one.
    if server["links"] <= mirror["links"] <= server["exact"]:
        mirror["links"] = server["links"]
    for key in ("assets", "albums", "tags", "members", "links"):
        m, s = mirror[key], server[key]
        if m != s:
            if isinstance(m, dict):
                diff = {k: _fields_that_differ(m.get(k), s.get(k)) for k in set(m) | set(s) if m.get(k) != s.get(k)}
            else:
                diff = {"only in mirror": sorted(m - s)[:5], "only on server": sorted(s - m)[:5]}
            raise AssertionError(f"mirror != server for {key}: {list(diff.items())[:5]}")
