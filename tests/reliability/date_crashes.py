"""A crash anywhere in a date push, then a rerun, ends with the same dates and zones as an uninterrupted run.

The library mixes what date repair meets: file-dated uploads with dated names (WhatsApp days, Pixel UTC
names, screenshots), camera files whose EXIF date and zone must be left alone, cameras with a reset
clock, dated folders, and duplicate groups that mix them (so a date the tool writes to one member could
feed the others, the bug this guards against). The process "dies" (``Crash``, a BaseException: no
handler catches it, uncommitted work is rolled back) before or after the k-th date write reached the
server; a fresh process then runs again. Every asset's EXIF date, zone and timeline dates are then
compared, field by field, with the uninterrupted run's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from autotag import session as ops
from autotag.config import AutotagConfig, parse_config
from autotag.session import Session
from immich_mirror.api.client import ImmichClient
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_client

UPLOAD = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
ZONES = (None, "Europe/Berlin", "UTC+2", "America/New_York")


class Crash(BaseException):
    """The process died here."""


def date_library(seed: int, version: str) -> FakeLibrary:
    rng = Random(seed)
    lib = FakeLibrary(seed=seed, version=version)
    ids: list[str] = []
    for i in range(rng.randint(12, 30)):
        taken = datetime(2015, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(8 * 365 * 86400))
        upload = UPLOAD + timedelta(seconds=i * 7)
        kind = rng.randrange(7)
        if kind == 0:
            a = lib.add_asset(f"IMG-{taken:%Y%m%d}-WA{i:04d}.jpg", file_created_at=upload)
        elif kind == 1:
            a = lib.add_asset(f"PXL_{taken:%Y%m%d_%H%M%S}{i % 1000:03d}.jpg", file_created_at=upload)
        elif kind == 2:
            a = lib.add_asset(f"Screenshot_{taken:%Y%m%d-%H%M%S}.png", file_created_at=upload)
        elif kind == 3:  # a camera: its EXIF date and zone must stay
            a = lib.add_asset(f"DSC{i:05d}.JPG", date_time_original=taken, time_zone=rng.choice(ZONES),
                              file_modified_at=upload, make="SONY", model="ILCE-7M3")
        elif kind == 4:  # a reset clock: not credible, repaired from its name
            a = lib.add_asset(f"IMG_{taken:%Y%m%d_%H%M%S}.jpg", date_time_original=datetime(2000, 1, 1, tzinfo=UTC),
                              time_zone=rng.choice(ZONES), file_modified_at=upload, make="Google", model="Pixel 7")
        elif kind == 5:
            a = lib.add_asset(f"scan_{i:04d}.jpg", original_path=f"/mnt/p/{taken:%Y-%m-%d} Trip/scan_{i:04d}.jpg",
                              library_id="lib-ext", file_created_at=upload)
        else:
            a = lib.add_asset(f"IMG_{i:04d}.jpg", file_created_at=upload)  # nothing to read
        ids.append(a.id)
    rng.shuffle(ids)
    for g in range(rng.randint(2, 5)):
        members = [ids.pop() for _ in range(min(len(ids), rng.randint(2, 3)))]
        if len(members) > 1:
            lib.set_duplicate(members, f"{g + 1:08d}-0000-4000-8000-000000000000")
    return lib


def config(seed: int) -> AutotagConfig:
    zone = Random(seed).choice([None, "Europe/Berlin"])
    return parse_config({"dates": {"enabled": True, "default_time_zone": zone}, "push": {"chunk_size": 2}})


@dataclass
class Writes:
    """Counts the date writes and crashes at the ``crash_at``-th (0-based), before or after it landed."""

    crash_at: int | None = None
    after: bool = True
    calls: int = 0

    def wrap(self, client: ImmichClient) -> ImmichClient:
        update: Callable[..., None] = client.update_assets

        def update_assets(ids: Any, /, **fields: Any) -> None:
            k = self.calls
            self.calls += 1
            if "dateTimeOriginal" in fields and k == self.crash_at and not self.after:
                raise Crash
            update(ids, **fields)
            if "dateTimeOriginal" in fields and k == self.crash_at:
                raise Crash

        client.update_assets = update_assets  # type: ignore[method-assign]
        return client


def session(lib: FakeLibrary, db: Path, version: str, cfg: AutotagConfig, writes: Writes | None = None) -> Session:
    def factory() -> ImmichClient:
        client = fake_client(lib, version)
        return writes.wrap(client) if writes else client

    return Session(cfg=cfg, db_path=db, client_factory=factory, sleep=lambda _s: None)


def dates_of(lib: FakeLibrary) -> dict[str, tuple[Any, ...]]:
    return {
        aid: (a.original_file_name, a.date_time_original, a.time_zone, a.local_date_time, a.file_created_at)
        for aid, a in sorted(lib.assets.items())
    }


def reference(seed: int, version: str, tmp: Path) -> tuple[dict[str, tuple[Any, ...]], int]:
    """The uninterrupted run's dates, and how many date writes it made."""
    lib = date_library(seed, version)
    writes = Writes()
    s = session(lib, tmp / f"ref-{seed}.db", version, config(seed), writes)
    try:
        ops.run(s)
    finally:
        s.close()
    return dates_of(lib), writes.calls


def crash_then_rerun(seed: int, version: str, tmp: Path, crash_at: int, *, after: bool) -> dict[str, tuple[Any, ...]]:
    lib = date_library(seed, version)
    db = tmp / f"crash-{seed}-{crash_at}-{int(after)}.db"
    s = session(lib, db, version, config(seed), Writes(crash_at, after))
    try:
        ops.run(s)
    except (Crash, ImmichMirrorError):
        pass
    finally:
        s.close()
    s = session(lib, db, version, config(seed))
    try:
        ops.run(s)
    finally:
        s.close()
    return dates_of(lib)


def assert_same_dates(expected: dict[str, tuple[Any, ...]], got: dict[str, tuple[Any, ...]], where: str) -> None:
    differ = {a: (expected[a], got.get(a)) for a in expected if expected[a] != got.get(a)}
    assert not differ, f"{where}: {len(differ)} asset(s) differ from the uninterrupted run: {differ}"
