"""The generator (deterministic, realistic), the state file, the runner and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from immich_mirror.fake import FakeLibrary
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server
from immich_mirror.fake.statefile import read_state, save_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lib() -> FakeLibrary:
    return generate_library(3000, seed=11)


def test_same_seed_same_library(lib: FakeLibrary) -> None:
    assert generate_library(3000, seed=11).snapshot() == lib.snapshot()
    assert generate_library(3000, seed=12).snapshot()["assets"].keys() != lib.snapshot()["assets"].keys()


def test_library_looks_real(lib: FakeLibrary) -> None:
    own = [a for a in lib.assets.values() if a.owner_id == lib.owner_id]
    names = [a.original_file_name for a in own]
    for pattern in (r"^IMG_\d{8}_\d{6}\.jpg$", r"^DSC\d{5}\.JPG$", r"^PXL_\d{8}_\d{9}\.jpg$",
                    r"^IMG-\d{8}-WA\d{4}\.jpg$", r"^Screenshot_\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.png$",
                    r"^Screenshot \d{4}-\d\d-\d\d at \d\d\.\d\d\.\d\d\.png$", r"^signal-",
                    r"^scan_\d{4}\.jpg$", r"^VID_\d{8}_\d{6}\.mp4$"):
        assert any(re.match(pattern, n) for n in names), pattern
    whatsapp = [a for a in own if "-WA" in a.original_file_name]
    assert all(a.date_time_original is None and a.file_created_at == a.created_at for a in whatsapp)
    years = Counter(a.date_time_original.year for a in own if a.date_time_original)
    assert years[1970] and years[2000]
    visibility = Counter(a.visibility for a in own)
    assert visibility["archive"] and visibility["hidden"] and any(a.is_trashed for a in own)
    duplicated = [a for a in own if a.duplicate_id]
    assert 0.03 < len(duplicated) / len(own) < 0.07
    in_albums = {aid for al in lib.albums.values() if al.owner_id == lib.owner_id for aid in al.members}
    assert 0.06 < len(in_albums) / len(own) < 0.15
    album_names = [al.name for al in lib.albums.values()]
    assert any(re.match(r"^\d{4}-\d\d-\d\d ", n) for n in album_names) and "Favourites" in album_names
    values = {t.value for t in lib.tags.values()}
    assert {"autotag_input_meme", "autotag_input_adult_meme", "autotag_input_pending_review",
            "autotag_input_ignore", "people/alice", "places/paris"} <= values
    external = [a for a in own if a.library_id]
    assert external and all(a.original_path.startswith("/mnt/photos/") for a in external)
    assert any(a.owner_id != lib.owner_id for a in lib.assets.values())


def test_state_file_round_trip(tmp_path: Path) -> None:
    original = generate_library(400, seed=3, lost_writes_rate=0.1)
    save_state(original, tmp_path / "state.json")
    loaded, faults = read_state(tmp_path / "state.json")
    assert loaded.snapshot() == original.snapshot()
    assert loaded.lost_writes_rate == 0.1 and faults is None


def test_minimal_hand_written_state(tmp_path: Path) -> None:
    state = {
        "version": "2.7.5",
        "api_keys": [{"secret": "k", "permissions": ["asset.read"]}],
        "assets": [
            {"id": "9db0c327-70d5-48ff-a2c0-45a227686a83", "original_file_name": "IMG-20200101-WA0001.jpg"},
            {"original_file_name": "IMG_20190412_153000.jpg", "date_time_original": "2019-04-12T13:30:00Z",
             "visibility": "archive"},
        ],
        "albums": [{"name": "2019-06-01 Beach", "asset_ids": ["9db0c327-70d5-48ff-a2c0-45a227686a83"]}],
        "tags": [{"value": "people/alice", "asset_ids": ["9db0c327-70d5-48ff-a2c0-45a227686a83"]}],
        "settings": {"faults": "503:0.5", "faults_seed": 2},
    }
    (tmp_path / "s.json").write_text(json.dumps(state))
    lib, faults = read_state(tmp_path / "s.json")
    assert lib.version == "2.7.5" and faults is not None and faults.rules[0].status == 503
    assert {t.value for t in lib.tags.values()} == {"people", "people/alice"}
    assert len(lib.albums) == 1 and lib.api_keys["k"].permissions == ["asset.read"]


def test_running_fake_server_serves_the_library() -> None:
    lib = generate_library(50, seed=2)
    with running_fake_server(lib, version="2.7.5") as (url, key):
        answer = httpx.get(f"{url}/api/server/version")
        assert answer.json() == {"major": 2, "minor": 7, "patch": 5}
        me = httpx.get(f"{url}/api/users/me", headers={"x-api-key": key})
        assert me.json()["id"] == lib.owner_id


def test_cli_starts_on_a_free_port_and_answers_ping() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "immich_mirror.fake", "--port", "0", "--assets", "30", "--seed", "1",
         "--server-version", "3.2.2", "--api-key", "cli-key"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"fake Immich 3\.2\.2 at (http://127\.0\.0\.1:\d+) api-key cli-key$", line.strip())
        assert match, line
        assert httpx.get(f"{match.group(1)}/api/server/ping", timeout=5).json() == {"res": "pong"}
        stats = httpx.get(f"{match.group(1)}/api/assets/statistics", headers={"x-api-key": "cli-key"})
        assert stats.json()["total"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
