"""The fake reports where a date came from as the recorded servers do (docs/rules.md, "Where a date came
from"): without an EXIF date, exifInfo.dateTimeOriginal, modifyDate, fileModifiedAt and localDateTime
are the file's time, no zone and no camera; a camera file carries its make and model; a date written
through the API leaves fileModifiedAt alone (recordings *_put_dateTimeOriginal_effect.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from immich_mirror.fake.library import FakeLibrary
from tests.helpers import VERSIONS, fake_client

UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
RECORDINGS = Path(__file__).resolve().parents[1] / "recordings"


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("version", VERSIONS)
def test_file_dated_and_camera_dated_assets_look_as_recorded(version: str) -> None:
    lib = FakeLibrary(seed=2)
    plain = lib.add_asset("IMG-20200101-WA0001.jpg", file_created_at=UPLOAD).id
    camera = lib.add_asset("IMG_20190412_153000.jpg", date_time_original=datetime(2019, 4, 12, 13, 30, tzinfo=UTC),
                           time_zone="UTC+2", file_modified_at=UPLOAD, make="Google", model="Pixel 7").id
    client = fake_client(lib, version)
    a = client.request("GET", f"/assets/{plain}").json()
    exif = a["exifInfo"]
    assert _iso(exif["dateTimeOriginal"]) == _iso(exif["modifyDate"]) == _iso(a["fileModifiedAt"]) == UPLOAD
    assert _iso(a["localDateTime"]) == UPLOAD
    assert exif["timeZone"] is None and exif["make"] is None and exif["model"] is None
    c = client.request("GET", f"/assets/{camera}").json()
    assert (c["exifInfo"]["make"], c["exifInfo"]["model"]) == ("Google", "Pixel 7")
    assert _iso(c["exifInfo"]["dateTimeOriginal"]) != _iso(c["fileModifiedAt"])
    client.update_assets([plain], dateTimeOriginal="2019-04-12T15:30:00+02:00")
    after = client.request("GET", f"/assets/{plain}").json()
    assert _iso(after["exifInfo"]["dateTimeOriginal"]) == datetime(2019, 4, 12, 13, 30, tzinfo=UTC)
    assert after["exifInfo"]["timeZone"] == "UTC+2"
    assert _iso(after["fileModifiedAt"]) == UPLOAD  # the file's time stays: the asset no longer looks file-dated


@pytest.mark.parametrize("version", ["v2.7.5", "v3.1.0"])
def test_the_recordings_show_the_same(version: str) -> None:
    effect = json.loads((RECORDINGS / version / "assets_put_dateTimeOriginal_effect.json").read_text())
    before = effect["before"]
    assert before["exif.timeZone"] is None
    assert _iso(before["exif.dateTimeOriginal"]) == _iso(before["fileCreatedAt"]) == _iso(before["localDateTime"])
