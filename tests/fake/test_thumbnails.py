"""The fake's thumbnails answer as the recordings of both servers do: status, type, headers, a real image."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from immich_mirror.fake.app import create_app
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.images import solid_webp, thumbnail_size

RECORDINGS = Path(__file__).parents[1] / "recordings"


def webp_size(body: bytes) -> tuple[int, int]:
    """Width and height of a lossless WebP, read as a decoder does (and its container checked)."""
    assert body[:4] == b"RIFF" and body[8:12] == b"WEBP" and body[12:16] == b"VP8L"
    assert struct.unpack("<I", body[4:8])[0] == len(body) - 8
    chunk = struct.unpack("<I", body[16:20])[0]
    assert 20 + chunk + (chunk % 2) == len(body) and body[20] == 0x2F
    bits = int.from_bytes(body[21:25], "little")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


@pytest.mark.parametrize("folder", ["v2.7.5", "v3.1.0"])
def test_thumbnail_as_recorded(folder: str) -> None:
    rec = json.loads((RECORDINGS / folder / "assets_thumbnail_thumbnail.json").read_text())
    lib = generate_library(5, seed=1)
    asset = next(iter(lib.assets.values()))
    http = TestClient(create_app(lib, version=folder.lstrip("v")))
    url = rec["request"]["url"].replace("{id}", asset.id)
    response = http.get(url, headers={"x-api-key": "fake-api-key"})
    assert response.status_code == rec["status"] == 200
    assert response.headers["content-type"] == rec["content_type"] == "image/webp"
    for name in ("Cache-Control", "Content-Disposition", "ETag"):
        assert name.lower() in response.headers, name
    assert response.headers["cache-control"] == rec["headers"]["Cache-Control"]
    assert response.headers["content-disposition"].endswith("_thumbnail.webp")
    assert webp_size(response.content) == thumbnail_size(asset.width, asset.height)
    # as Immich: an unknown asset is "not found or no access", and the permission is asset.view
    missing = http.get(url.replace(asset.id, "00000000-0000-4000-8000-000000000000"),
                       headers={"x-api-key": "fake-api-key"})
    assert missing.status_code == 400 and "asset.view" in missing.json()["message"]
    assert http.get(url).status_code == 401


@pytest.mark.parametrize(("w", "h"), [(1, 1), (120, 90), (90, 120), (2, 3), (16384, 1)])
def test_generated_webp_is_well_formed(w: int, h: int) -> None:
    assert webp_size(solid_webp(w, h, (10, 200, 30))) == (w, h)
