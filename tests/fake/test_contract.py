"""Every recorded request/response of both lab servers, replayed against the fake.

Per recording: same status; recursively the same keys, JSON types, nullability and list-vs-object;
the same error shape and messages; and the values that express behaviour (`nextPage`, `total` =
items on the page, `{count}` of new links, per-id `success`/`error`). Data values (ids, dates,
counts of a library the fake does not have) are not compared. Recordings that are not one JSON
request/response (notes, timings, JSON-lines streams) are skipped, saying why; the ``*_effect`` ones
(what a date write does before and after the server's jobs) are replayed by their own test below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fake_recordings import KEY, LIMITED_KEY, SESSION, ensure_asset, is_exchange, load, prepare, seed
from starlette.testclient import TestClient

from immich_mirror.fake.app import create_app

FOLDERS = ("v2.7.5", "v3.1.0")
# Known, justified differences: none so far. Add `(folder, name): reason` here, never silently.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for folder in FOLDERS:
        for name, rec in load(folder).items():
            if not is_exchange(rec):
                kind = "JSON-lines stream (stub only)" if "lines" in rec else "not a request/response"
                cases.append(pytest.param(folder, name, id=f"{folder}/{name} [skip: {kind}]",
                                          marks=pytest.mark.skip(reason=kind)))
            elif (folder, name) in EXCEPTIONS:
                reason = EXCEPTIONS[(folder, name)]
                cases.append(pytest.param(folder, name, id=f"{folder}/{name}",
                                          marks=pytest.mark.xfail(reason=reason, strict=True)))
            else:
                cases.append(pytest.param(folder, name, id=f"{folder}/{name}"))
    return cases


_SEEDS: dict[str, dict[str, Any]] = {}


def _recording(folder: str, name: str) -> dict[str, Any]:
    if folder not in _SEEDS:
        _SEEDS[folder] = load(folder)
    recording: dict[str, Any] = _SEEDS[folder][name]
    return recording


def _headers(name: str, auth: str) -> dict[str, str]:
    if auth == "none":
        return {}
    if auth.startswith("bearer"):
        return {"Authorization": f"Bearer {SESSION}"}
    if name == "error_401_bad_api_key":
        return {"x-api-key": "not-a-valid-key"}
    if name == "error_403_missing_permission":
        return {"x-api-key": LIMITED_KEY}
    return {"x-api-key": KEY}


@pytest.mark.parametrize(("folder", "name"), _cases())
def test_recording_replays(folder: str, name: str) -> None:
    rec = _recording(folder, name)
    lib = seed(folder)
    prepare(lib, name, rec)
    client = TestClient(create_app(lib, version=folder.lstrip("v")))
    req = rec["request"]
    kwargs: dict[str, Any] = {"headers": _headers(name, req.get("auth", "x-api-key"))}
    if "body" in req:
        kwargs["json"] = req["body"]
    elif "raw_body" in req or name == "error_400_invalid_json":
        kwargs["content"] = req.get("raw_body", "{not json").encode()
        kwargs["headers"]["content-type"] = "application/json"
    response = client.request(req["method"], req["url"], **kwargs)
    assert response.status_code == rec["status"], response.text
    if rec["body"] is None:
        assert response.content == b""
        return
    assert response.headers["content-type"] == rec["content_type"]
    got = response.json()
    problems: list[str] = []
    compare_shape(rec["body"], got, "$", problems)
    compare_behaviour(rec["body"], got, problems)
    if not folder.startswith("v2") and rec["status"] >= 400:
        assert response.headers.get("x-correlation-id"), "v3 errors carry X-Correlation-ID"
    assert not problems, "\n".join(problems)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


# Keys the recordings show present on some items and absent on others of the same type.
OPTIONAL_KEYS = {"parentId", "color", "startDate", "endDate", "lastModifiedAssetTimestamp"}


def compare_shape(rec: Any, got: Any, path: str, problems: list[str], strict: bool = True) -> None:
    """Strict for the same entity (same id): keys and nullability must match exactly. Lenient for
    other items of a list: a data field may be null on one asset and set on another, and the
    optional keys may come and go; keys and JSON types must still match."""
    if not strict and (rec is None or got is None):
        return
    if _kind(rec) != _kind(got):
        problems.append(f"{path}: recorded {_kind(rec)}, fake {_kind(got)} ({got!r:.80})")
        return
    if isinstance(rec, dict):
        differ = set(rec) ^ set(got)
        if differ if strict else differ - OPTIONAL_KEYS:
            problems.append(f"{path}: keys only recorded {sorted(set(rec) - set(got))}, "
                            f"only fake {sorted(set(got) - set(rec))}")
        for key in set(rec) & set(got):
            compare_shape(rec[key], got[key], f"{path}.{key}", problems, strict)
    elif isinstance(rec, list):
        # Long recorded lists end with a "... N more items trimmed" marker.
        rec = [x for x in rec if not (isinstance(x, str) and x.startswith("... "))]
        if not rec:
            return  # an empty recorded list says nothing about item shapes
        if not got:
            if strict:
                problems.append(f"{path}: recorded {len(rec)} items, fake none")
            return
        by_id = {_item_id(item): item for item in rec if _item_id(item) is not None}
        for i, item in enumerate(got):
            model = by_id.get(_item_id(item))
            if model is None and not isinstance(item, dict):
                model = rec[i] if len(rec) == len(got) else next(
                    (r for r in rec if _kind(r) == _kind(item)), rec[0])
                compare_shape(model, item, f"{path}[{i}]", problems, strict)
            elif model is None:
                compare_shape(_closest(rec, item), item, f"{path}[{i}]", problems, strict=False)
            else:
                compare_shape(model, item, f"{path}[{i}]", problems, strict)


def _item_id(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("id", item.get("duplicateId"))
    return None


def _closest(rec: list[Any], item: Any) -> Any:
    """The recorded item with the same keys, if any (items may omit optional keys)."""
    if isinstance(item, dict):
        for candidate in rec:
            if isinstance(candidate, dict) and set(candidate) == set(item):
                return candidate
    return rec[0]


def compare_behaviour(rec: Any, got: Any, problems: list[str]) -> None:
    if isinstance(rec, dict) and isinstance(rec.get("assets"), dict) and "nextPage" in rec["assets"]:
        r, g = rec["assets"], got["assets"]
        if g["total"] != g["count"] or g["count"] != len(g["items"]):
            problems.append("search: total/count must equal the items on the page")
        if (r["total"] == 0) != (g["total"] == 0):
            problems.append(f"search: recorded total {r['total']}, fake {g['total']}")
        if r["nextPage"] != g["nextPage"]:
            problems.append(f"search: nextPage recorded {r['nextPage']!r}, fake {g['nextPage']!r}")
    if isinstance(rec, dict) and set(rec) == {"count"} and rec != got:
        problems.append(f"count: recorded {rec}, fake {got}")
    if isinstance(rec, dict) and "message" in rec:
        if rec["message"] != got.get("message"):
            problems.append(f"message: recorded {rec['message']!r}, fake {got.get('message')!r}")
        if "errors" in rec:
            want = [(e.get("code"), e.get("path")) for e in rec["errors"]]
            have = [(e.get("code"), e.get("path")) for e in got.get("errors", [])]
            if want != have:
                problems.append(f"errors: recorded {want}, fake {have}")
    if isinstance(rec, dict) and "success" in rec and rec != got:
        problems.append(f"result: recorded {rec}, fake {got}")
    if isinstance(rec, list) and rec and isinstance(rec[0], dict) and "success" in rec[0]:
        want_ids = [(i["id"], i["success"], i.get("error")) for i in rec]
        have_ids = [(i["id"], i["success"], i.get("error")) for i in got]
        if want_ids != have_ids:
            problems.append(f"per-id results: recorded {want_ids}, fake {have_ids}")


def _effect_cases() -> list[Any]:
    return [
        pytest.param(folder, name, id=f"{folder}/{name}")
        for folder in FOLDERS
        for name, rec in load(folder).items()
        if name.endswith("_effect") and "after_jobs" in rec
    ]


_EFFECT_FIELDS = {"fileCreatedAt": "fileCreatedAt", "localDateTime": "localDateTime",
                  "exif.dateTimeOriginal": "dateTimeOriginal", "exif.timeZone": "timeZone"}


def _dates_of(client: TestClient, asset_id: str) -> dict[str, Any]:
    got = client.get(f"/api/assets/{asset_id}", headers={"x-api-key": KEY}).json()
    exif = got.get("exifInfo") or {}
    return {k: (exif.get(f) if k.startswith("exif.") else got.get(f)) for k, f in _EFFECT_FIELDS.items()}


@pytest.mark.parametrize(("folder", "name"), _effect_cases())
def test_date_effects_follow_the_server(folder: str, name: str) -> None:
    """What a date write does before and after the server's jobs (the `*_effect` recordings): the EXIF
    date at once, fileCreatedAt and localDateTime only once the jobs ran, the zone as Immich labels it."""
    rec = _recording(folder, name)
    req = rec["request"]
    body = req.get("body", req)  # the bulk effect files keep only the body
    url = req.get("url", "/api/assets")
    after = rec["after_jobs"] if isinstance(rec["after_jobs"], list) else [rec["after_jobs"]]
    lib = seed(folder)
    lib.jobs_mode = "manual"
    for want in after:
        ensure_asset(lib, want["id"])
        asset = lib.assets[want["id"]]
        before = rec.get("before") or {}
        start = before.get("exif.dateTimeOriginal") or want["exif.dateTimeOriginal"]
        dto = datetime.fromisoformat(start) - timedelta(minutes=body.get("dateTimeRelative", 0) if not before else 0)
        asset.date_time_original = asset.file_created_at = dto.astimezone(UTC)
        asset.local_date_time = dto.astimezone(UTC)
        asset.time_zone = before.get("exif.timeZone")
    client = TestClient(create_app(lib, version=folder.lstrip("v")))
    ids = [w["id"] for w in after]
    earlier = {i: _dates_of(client, i) for i in ids}
    response = client.put(url, json=body, headers={"x-api-key": KEY})
    assert response.status_code in (200, 204), response.text
    if "immediately_in_response" in rec:
        now = rec["immediately_in_response"]
        got = _dates_of(client, now["id"])
        assert got["exif.dateTimeOriginal"] == now["exif.dateTimeOriginal"]
        assert got["exif.timeZone"] == now["exif.timeZone"]
        unmoved = earlier[now["id"]]
        assert (got["fileCreatedAt"], got["localDateTime"]) == (unmoved["fileCreatedAt"], unmoved["localDateTime"])
    lib.settle()
    for want in after:
        assert _dates_of(client, want["id"]) == {k: want[k] for k in _EFFECT_FIELDS}, want["id"]
