"""The sync right after a push costs what changed besides the push, not the library (issue 16).

The push's tag writes bump every written asset (Immich's jobs), move lastModifiedAssetTimestamp of every
album holding one, and move the records of every tag those assets carry. None of that is anyone else's
change: the next sync lists no album and no tag members for it, and still sees what others changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import FakeTag
from immich_mirror.sync.context import only_stamp_moved
from immich_mirror.sync.pushed import load_push_verified, record_push_verified
from immich_mirror.sync.runner import run_sync
from tests.helpers import assert_mirror_equals_server, fake_client


@pytest.fixture
def library() -> FakeLibrary:
    return generate_library(400, seed=7, partner_assets=0)


class Counting:
    """The client of a session, counting member searches (by album, by tag) from when it is asked."""

    def __init__(self) -> None:
        self.client: ImmichClient | None = None
        self.members: list[str] = []

    def watch(self) -> None:
        assert self.client is not None
        real = self.client.request
        self.members.clear()

        def request(method: str, path: str, **kw: Any) -> Any:
            body = kw.get("json") or {}
            filt = body.get("filter") or {}
            if path == "/search/metadata" and (
                body.get("albumIds") or body.get("tagIds") or "albumIds" in filt or "tagIds" in filt
            ):
                self.members.append(path)
            return real(method, path, **kw)

        self.client.request = request  # type: ignore[method-assign]


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
def session(tmp_path: Path, library: FakeLibrary, version: str, counting: Counting) -> Iterator[Session]:
    def make() -> ImmichClient:
        counting.client = fake_client(library, version)
        return counting.client

    s = Session(cfg=AutotagConfig(), db_path=tmp_path / "m.db", client_factory=make, sleep=lambda _s: None)
    yield s
    s.close()


def run_and_marked(session: Session, library: FakeLibrary) -> tuple[FakeTag, list[str]]:
    """Run once; the marker tag the run created on the server, and the assets it marked (sorted)."""
    ops.run(session)
    unknown = library.tag_by_value("autotag_output_unknown")
    assert unknown is not None
    return unknown, sorted(library.tag_members[unknown.id])


def test_the_sync_after_a_push_reads_no_members(session: Session, library: FakeLibrary, counting: Counting) -> None:
    result = ops.run(session)
    assert result.push is not None and result.push.sent > 100
    counting.watch()
    summary = ops.sync(session)
    assert summary.stats.assets.changed >= result.push.sent // 2  # every written asset was bumped
    assert counting.members == []  # no album re-listed, no tag re-read
    assert summary.requests <= 30
    assert_mirror_equals_server(session.engine, library)


def test_what_others_change_after_the_push_is_still_seen(
    session: Session, library: FakeLibrary, counting: Counting
) -> None:
    unknown, written = run_and_marked(session, library)
    people = library.tag_by_value("people/alice")
    assert people is not None
    library.tag_assets([people.id], written[:3])  # someone tags three of the pushed assets
    library.untag_assets([unknown.id], written[3:4])  # and takes a marker off a fourth
    album = next(a for a in library.albums.values() if a.name == "Favourites")
    library.remove_from_album(album.id, list(album.members)[:1])
    summary = ops.sync(session)
    assert summary.stats.tag_links.added == 3 and summary.stats.tag_links.removed == 1
    assert summary.stats.album_links.removed == 1
    assert_mirror_equals_server(session.engine, library)


def test_a_full_sync_trusts_nothing(session: Session, library: FakeLibrary, counting: Counting) -> None:
    ops.run(session)
    counting.watch()
    summary = ops.sync(session, full=True)
    assert counting.members  # every album and tag read again
    assert summary.stats.tag_links.added == summary.stats.tag_links.removed == 0
    assert_mirror_equals_server(session.engine, library)


def test_a_push_without_its_verification_is_not_trusted(tmp_path: Path, library: FakeLibrary, version: str) -> None:
    # Verification off: the mirror holds the confirmed writes, but nothing read them back after the jobs.
    client = fake_client(library, version)
    s = Session(cfg=AutotagConfig(), db_path=tmp_path / "m.db", client_factory=lambda: client, sleep=lambda _s: None)
    s.cfg.push.verify_rounds = 0
    ops.run(s)
    summary = run_sync(client, s.engine)
    assert summary.stats.assets.changed > 0
    assert_mirror_equals_server(s.engine, library)
    s.close()


def test_only_the_stamp_may_differ() -> None:
    def raw(stamp: str, favourite: bool) -> bytes:
        return orjson.dumps({"id": "a", "updatedAt": stamp, "isFavorite": favourite, "exifInfo": {"city": None}})

    assert only_stamp_moved(raw("2026-01-01T00:00:00.000Z", False), raw("2026-01-02T00:00:00.000Z", False))
    assert only_stamp_moved(raw("2026-01-01T00:00:00.000Z", False), raw("2026-01-01T00:00:00.000Z", False))
    assert not only_stamp_moved(raw("2026-01-01T00:00:00.000Z", False), raw("2026-01-02T00:00:00.000Z", True))
    assert not only_stamp_moved(b'{"id":"a"}', b'{"id":"b"}')


def test_a_pushed_asset_changed_in_another_way_is_read_again(
    session: Session, library: FakeLibrary, counting: Counting
) -> None:
    # Someone else's change that lands before the verification looks like the push's own bump, but for
    # what else it changed: that asset's tags are read again (one GET for one asset).
    _unknown, marked = run_and_marked(session, library)
    one = marked[0]
    library.set_favorite([one], True)
    with session.engine.begin() as conn:  # as if it happened before the push's verification began
        pushed = load_push_verified(conn)
        assert pushed is not None and one in pushed[1]
        record_push_verified(conn, datetime.now(UTC) + timedelta(hours=1), pushed[1])
    assert counting.client is not None
    real = counting.client.request
    gets: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        if method == "GET" and path.startswith("/assets/") and path != "/assets/statistics":
            gets.append(path)
        return real(method, path, **kw)

    counting.client.request = request  # type: ignore[method-assign]
    ops.sync(session)
    assert gets == [f"/assets/{one}"]
    assert_mirror_equals_server(session.engine, library)
