"""A large mirror written straight into SQLite (no server): for classify figures at 1M assets.

Shape: 95% own assets, 80% timeline / 15% archive / 5% hidden, 1% trashed; one album per 100 assets,
two thirds of them date-named; about 10% of assets in an album (some in two); 20 tags incl. the four
classifying inputs; about 5% of assets tagged; about half of the unclassified already carry the marker
from an earlier run (so the plan has additions and removals).
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from immich_mirror.db.migrate import open_db

OWNER = "00000000-0000-4000-8000-000000000001"
PARTNER = "00000000-0000-4000-8000-000000000002"
INPUT_TAGS = ["autotag_input_meme", "autotag_input_adult_meme", "autotag_input_pending_review", "autotag_input_ignore"]


def _id(prefix: int, i: int) -> str:
    return f"{prefix:08x}-0000-4000-8000-{i:012x}"


def build_mirror(path: Path, n: int, seed: int = 1) -> None:
    open_db(path).dispose()
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    try:
        con.execute("INSERT INTO sync_state(key, value) VALUES ('owner_id', ?)", (OWNER,))
        visibilities = ["timeline"] * 16 + ["archive"] * 3 + ["hidden"]
        con.executemany(
            "INSERT INTO assets(id, owner_id, type, original_file_name, original_path, file_created_at, "
            "local_date_time, updated_at, visibility, is_favorite, is_trashed) VALUES (?,?,?,?,?,?,?,?,?,0,?)",
            (
                (
                    _id(1, i),
                    PARTNER if i % 20 == 0 else OWNER,
                    "IMAGE",
                    f"IMG_{i}.jpg",
                    f"/data/upload/{i % 97}/IMG_{i}.jpg",
                    f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}T10:00:00.000Z",
                    f"20{10 + i % 15}-0{1 + i % 9}-1{i % 10}T10:00:00.000Z",
                    "2026-01-01T00:00:00.000Z",
                    visibilities[i % len(visibilities)],
                    1 if i % 100 == 7 else 0,
                )
                for i in range(n)
            ),
        )
        n_albums = max(1, n // 100)
        con.executemany(
            "INSERT INTO albums(id, name, owner_id, is_owned) VALUES (?, ?, ?, 1)",
            (
                (_id(2, j), f"20{10 + j % 15}-0{1 + j % 9}-{10 + j % 18} Trip {j}" if j % 3 else f"Album {j}", OWNER)
                for j in range(n_albums)
            ),
        )
        con.executemany(
            "INSERT OR IGNORE INTO album_assets(album_id, asset_id) VALUES (?, ?)",
            ((_id(2, rnd.randrange(n_albums)), _id(1, rnd.randrange(n))) for _ in range(n // 9)),
        )
        values = [*INPUT_TAGS, "autotag_output_unknown", "autotag_output_conflict", "people", "places"]
        values += [f"people/p{k}" for k in range(6)] + [f"places/c{k}" for k in range(6)]
        con.executemany(
            "INSERT INTO tags(id, value, name) VALUES (?, ?, ?)",
            ((_id(3, k), v, v.rsplit("/", 1)[-1]) for k, v in enumerate(values)),
        )
        tagged = [k for k, v in enumerate(values) if not v.startswith("autotag_output")]
        con.executemany(
            "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?, ?)",
            ((_id(1, rnd.randrange(n)), _id(3, rnd.choice(tagged))) for _ in range(n // 20)),
        )
        unknown = values.index("autotag_output_unknown")
        con.executemany(
            "INSERT OR IGNORE INTO asset_tags(asset_id, tag_id) VALUES (?, ?)",
            ((_id(1, i), _id(3, unknown)) for i in range(0, n, 2)),
        )
        con.commit()
    finally:
        con.close()
