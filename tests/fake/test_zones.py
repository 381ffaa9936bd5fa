"""Time zones as Immich keeps them: the name sent at once, the fixed-offset label after the jobs.

Recorded on v2.7.5 and v3.1.0 (``assets_bulk_put_dateTimeRelative_effect``): ``timeZone: Europe/Berlin``
ends as ``UTC+2`` for a summer date; the server's EXIF row takes the request's zone at once
(``updateDateTimeOriginal``), the metadata extraction after the sidecar write replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_client


@pytest.mark.parametrize(
    ("sent", "zone", "kept", "local"),
    [
        ("2019-04-12T15:30:00+02:00", "Europe/Berlin", "UTC+2", "2019-04-12T15:30:00.000Z"),  # summer time
        ("2019-01-12T15:30:00+01:00", "Europe/Berlin", "UTC+1", "2019-01-12T15:30:00.000Z"),  # winter
        ("2019-07-12T15:30:00-04:00", "America/New_York", "UTC-4", "2019-07-12T15:30:00.000Z"),
        ("2019-04-12T15:30:00+05:30", None, "UTC+5:30", "2019-04-12T15:30:00.000Z"),  # an offset only
    ],
)
def test_a_zone_name_is_kept_only_until_the_jobs(version: str, sent: str, zone: str | None, kept: str,
                                                 local: str) -> None:
    lib = FakeLibrary(seed=2, jobs="manual")
    asset = lib.add_asset("a.jpg", date_time_original=datetime(2024, 3, 1, 10, tzinfo=UTC))
    lib.settle()
    client = fake_client(lib, version)
    client.update_assets([asset.id], dateTimeOriginal=sent, **({"timeZone": zone} if zone else {}))
    at_once = client.get_asset(asset.id)
    assert at_once["exifInfo"]["timeZone"] == (zone or kept)
    assert datetime.fromisoformat(at_once["exifInfo"]["dateTimeOriginal"]) == datetime.fromisoformat(sent)
    lib.settle()
    after = client.get_asset(asset.id)
    assert after["exifInfo"]["timeZone"] == kept  # the name is gone; the offset and the instant stay
    assert datetime.fromisoformat(after["exifInfo"]["dateTimeOriginal"]) == datetime.fromisoformat(sent)
    assert after["localDateTime"] == local
