"""The people pass: people and who is in which asset reach the mirror, incrementally, in each version."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from autotag.doctor import REQUIRED
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.sync.runner import run_sync
from tests.helpers import API_KEY, fake_client, stepping_clock


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=3, clock=stepping_clock())
    ids = [lib.add_asset(f"IMG_{i:04d}.jpg").id for i in range(12)]
    lib.add_person("Alice", ids[0:4])
    lib.add_person("Bob", ids[3:6], is_hidden=True)
    lib.add_person("", ids[6:10])  # unnamed, with enough faces to be listed
    lib.add_person("", ids[10:11])  # unnamed, one face: Immich does not list it
    lib.set_visibility(ids[1:2], "archive")
    return lib


def mirrored(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.name, p.is_hidden, ap.asset_id FROM people p "
                "LEFT JOIN asset_people ap ON ap.person_id = p.id"
            )
        ).all()
    out: dict[str, set[str]] = {}
    for name, hidden, asset_id in rows:
        out.setdefault(f"{name or '?'}{' (hidden)' if hidden else ''}", set()).update([asset_id] if asset_id else [])
    return out


def on_server(lib: FakeLibrary, *names: str) -> set[str]:
    return set().union(*(p.asset_ids for p in lib.people.values() if p.name in names))


def person_walks(calls: list[str]) -> int:
    """People whose assets were searched (2.x walks each visibility apart: several requests each)."""
    return len({c for c in calls if c.startswith("people-search")})


def counting(lib: FakeLibrary, version: str) -> tuple[object, list[str]]:
    client = fake_client(lib, version)
    calls: list[str] = []
    original = client.request

    def request(method: str, path: str, **kw: object) -> object:
        body = kw.get("json")
        if isinstance(body, dict) and path == "/search/metadata":
            ids = body.get("personIds") or body.get("filter", {}).get("personIds")
            if ids:
                calls.append(f"people-search {ids}")
        elif path == "/people":
            calls.append("people-list")
        return original(method, path, **kw)  # type: ignore[arg-type]

    client.request = request  # type: ignore[method-assign]
    return client, calls


def test_people_and_their_assets_reach_the_mirror(library: FakeLibrary, engine: Engine, version: str) -> None:
    client, calls = counting(library, version)
    summary = run_sync(client, engine)  # type: ignore[arg-type]
    got = mirrored(engine)
    # Archived and hidden assets count too: the search walks every visibility the key can see.
    assert got["Alice"] == on_server(library, "Alice")
    assert got["Bob (hidden)"] == on_server(library, "Bob")
    assert len(got["?"]) == 4
    assert len(got) == 3  # the one-face unnamed cluster is not listed by Immich
    assert summary.stats.people.added == 3 and summary.stats.people_links.added == 11
    assert calls.count("people-list") == 1 and person_walks(calls) == 3
    assert "people +3 ~0 -0, people links +11 -0" in summary.line()


def test_a_rerun_with_nothing_changed_reads_no_faces(library: FakeLibrary, engine: Engine, version: str) -> None:
    run_sync(fake_client(library, version), engine)
    client, calls = counting(library, version)
    summary = run_sync(client, engine)  # type: ignore[arg-type]
    assert calls == ["people-list"]
    assert summary.stats.people.added == summary.stats.people.changed == summary.stats.people_links.added == 0


def test_a_renamed_person_is_re_read_and_full_re_reads_all(library: FakeLibrary, engine: Engine, version: str) -> None:
    run_sync(fake_client(library, version), engine)
    alice = next(p for p in library.people.values() if p.name == "Alice")
    bob = next(p for p in library.people.values() if p.name == "Bob")
    library.update_person(alice.id, name="Alice Smith")
    extra = library.add_asset("IMG_9999.jpg").id
    library.assign_faces(alice.id, [extra])
    client, calls = counting(library, version)
    summary = run_sync(client, engine)  # type: ignore[arg-type]
    assert person_walks(calls) == 1 and summary.stats.people.changed == 1
    assert mirrored(engine)["Alice Smith"] == alice.asset_ids
    # A face moved to Bob without touching Bob's record: Immich says nothing; --full finds it.
    library.assign_faces(bob.id, [extra])
    run_sync(fake_client(library, version), engine)
    assert extra not in mirrored(engine)["Bob (hidden)"]
    client, calls = counting(library, version)
    run_sync(client, engine, full=True)  # type: ignore[arg-type]
    assert person_walks(calls) == 3
    assert extra in mirrored(engine)["Bob (hidden)"] and extra not in mirrored(engine)["Alice Smith"]


def test_a_deleted_person_leaves_the_mirror(library: FakeLibrary, engine: Engine, version: str) -> None:
    run_sync(fake_client(library, version), engine)
    alice = next(p for p in library.people.values() if p.name == "Alice")
    del library.people[alice.id]
    summary = run_sync(fake_client(library, version), engine)
    assert summary.stats.people.removed == 1 and "Alice" not in mirrored(engine)
    with engine.connect() as conn:
        links = conn.execute(text("SELECT count(*) FROM asset_people WHERE person_id = :p"), {"p": alice.id})
        assert links.scalar() == 0


def test_a_key_without_person_read_skips_people_and_syncs_the_rest(library: FakeLibrary, engine: Engine) -> None:
    library.add_api_key(secret="no-people", permissions=list(REQUIRED))
    summary = run_sync(fake_client(library, "3.1.0", api_key="no-people"), engine)
    assert summary.stats.assets.added == 12
    assert summary.stats.people_skipped == "people skipped (the API key lacks person.read)"
    assert "people skipped (the API key lacks person.read)" in summary.line()
    assert mirrored(engine) == {}
    assert API_KEY not in summary.line()


def test_a_deleted_asset_takes_its_people_links_with_it(library: FakeLibrary, engine: Engine) -> None:
    """The asset pass deletes a purged asset's album and tag links; its faces go too, not only at the
    next walk of that person (which a person whose record did not move never gets)."""
    from immich_mirror.sync.assets import _delete
    from immich_mirror.sync.context import SyncContext

    client = fake_client(library)
    run_sync(client, engine)
    alice = next(p for p in library.people.values() if p.name == "Alice")
    gone = sorted(alice.asset_ids)[0]
    _delete(SyncContext(client=client, engine=engine, run_id=0, full=False, owner_id=library.owner_id), [gone])
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM asset_people WHERE asset_id = :a"), {"a": gone}).scalar()
    assert left == 0
