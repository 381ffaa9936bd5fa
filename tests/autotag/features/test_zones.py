"""Zone names: the tool sends ``timeZone: Europe/Berlin``, Immich keeps ``UTC+2``/``UTC+1`` after its jobs.

The tool compares what the server keeps (the instant and the offset), never claims the name was kept,
and a date whose offset the server changed is read as the server has it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from autotag import session as ops
from autotag.config import parse_config
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

# Every asset classified: no marker is written, so nothing waits for the tag jobs left queued here.
CFG = {"dates": {"enabled": True, "default_time_zone": "Europe/Berlin"}, "rules": [{"name": "all", "sql": "1"}]}
UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def _zones(s: ops.Session) -> dict[str, str | None]:
    with s.engine.connect() as conn:
        return {str(a): z for a, z in conn.execute(text("SELECT id, time_zone FROM assets"))}


def test_the_server_keeps_an_offset_not_the_zone_name(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=8, jobs="manual")
    summer = lib.add_asset("IMG-20190601-WA0001.jpg", file_created_at=UPLOAD).id
    winter = lib.add_asset("IMG-20190112-WA0001.jpg", file_created_at=UPLOAD).id
    lib.settle()
    s = fake_session(lib, tmp_path / "m.db", version, parse_config(CFG))
    try:
        first = ops.run(s)
        assert first.classify.summary.kinds == {"set_date": 2}
        with s.engine.connect() as conn:
            sent = {str(a): json.loads(p) for a, p in conn.execute(text("SELECT asset_id, payload FROM outbox"))}
        assert sent[summer] == {"dateTimeOriginal": "2019-06-01T12:00:00+02:00", "timeZone": "Europe/Berlin"}
        assert sent[winter] == {"dateTimeOriginal": "2019-01-12T12:00:00+01:00", "timeZone": "Europe/Berlin"}
        # the mirror holds what the server will keep, not the name the tool sent
        assert {a: z for a, z in _zones(s).items()} == {summer: "UTC+2", winter: "UTC+1"}

        # before its jobs the server still shows the name; after them, the offset label
        assert lib.assets[summer].time_zone == "Europe/Berlin"
        assert ops.run(s).classify.summary.changes == 0
        lib.settle()
        assert (lib.assets[summer].time_zone, lib.assets[winter].time_zone) == ("UTC+2", "UTC+1")
        again = ops.run(s)
        assert again.classify.summary.changes == 0 and again.push.sent == 0
        assert again.classify.problems == []  # UTC+2 and UTC+1 are the offsets sent
        assert _zones(s) == {summer: "UTC+2", winter: "UTC+1"}
        with s.engine.connect() as conn:
            local = dict(conn.execute(text("SELECT asset_id, local FROM asset_local_dates")).all())
        assert local == {summer: "2019-06-01T12:00:00", winter: "2019-01-12T12:00:00"}
    finally:
        s.close()


def test_a_date_kept_at_another_offset_is_read_as_the_server_has_it(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=9)
    photo = lib.add_asset("IMG-20190601-WA0001.jpg", file_created_at=UPLOAD).id
    s = fake_session(lib, tmp_path / "m.db", version, parse_config(CFG))
    try:
        ops.run(s)
        asset = lib.assets[photo]
        assert asset.date_time_original == datetime(2019, 6, 1, 10, tzinfo=UTC) and asset.time_zone == "UTC+2"
        # the same instant, kept at another offset (say, a later metadata refresh read UTC+0 back)
        lib.update_exif([photo], time_zone="UTC+0", local_date_time=datetime(2019, 6, 1, 10, tzinfo=UTC))
        rerun = ops.run(s)
        with s.engine.connect() as conn:
            local = conn.execute(text("SELECT local FROM asset_local_dates WHERE asset_id = :a"), {"a": photo})
            assert local.scalar_one() == "2019-06-01T10:00:00"  # not the 12:00 the tool sent
        assert rerun.classify.summary.changes == 0  # the instant is right: nothing is sent again
        assert ("dates", "Immich keeps 1 date(s) autotag set at another offset than it sent "
                "(e.g. IMG-20190601-WA0001.jpg: sent +02:00, kept UTC+0): they are read as Immich has them"
                ) in rerun.classify.problems
    finally:
        s.close()
