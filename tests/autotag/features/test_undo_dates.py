"""Undo of date repair against the fake: dateTimeOriginal comes back exactly; the zone as exactly as
Immich's API allows (docs/rules.md, "Undo"): a UTC±h label exactly, a null zone as UTC+0 (the same
instant and wall clock: the API cannot write a null zone back)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autotag import session as ops
from autotag.config import parse_config
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import VERSIONS, fake_session

UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("version", VERSIONS)
def test_undo_puts_dates_and_zones_back(version: str, tmp_path: Path) -> None:
    lib = FakeLibrary(seed=3)
    add = lib.add_asset
    ids = [
        add("IMG-20190601-WA0001.jpg", file_created_at=UPLOAD).id,  # zone null
        add("PXL_20210101_123456789.jpg", file_created_at=UPLOAD).id,  # zone null, an instant
        add("IMG_20190412_153000.jpg", date_time_original=datetime(2000, 1, 1, tzinfo=UTC), time_zone="UTC+2",
            make="Google", model="Pixel 7", file_modified_at=UPLOAD).id,  # a label
        add("IMG_20180412_153000.jpg", date_time_original=datetime(1970, 1, 1, 5, tzinfo=UTC), time_zone="UTC-5",
            make="Google", model="Pixel 7", file_modified_at=UPLOAD).id,
    ]
    # what the API reports as exifInfo.dateTimeOriginal: the fake keeps None for "no EXIF date"
    def exif_date(a: str) -> datetime:
        return lib.assets[a].date_time_original or lib.assets[a].file_created_at

    before = {a: (exif_date(a), lib.assets[a].time_zone, lib.assets[a].local_date_time) for a in ids}
    s = fake_session(lib, tmp_path / "m.db", version, parse_config({"dates": {"enabled": True}}))
    try:
        ops.run(s)
        assert all(exif_date(a) != before[a][0] for a in ids)
        ops.undo(s, run_id=None, apply=True)
        for a in ids:
            dto, zone, local = before[a]
            name = lib.assets[a].original_file_name
            assert exif_date(a) == dto, name
            assert lib.assets[a].time_zone == (zone or "UTC+0"), name
            assert lib.assets[a].local_date_time == local, name  # the same wall clock, UTC+0 or none
    finally:
        s.close()
