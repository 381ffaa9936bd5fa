"""Lost tag writes (API-NOTES 0b) and the sidecar that brings deleted tags back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from immich_mirror.fake import FakeLibrary, create_app
from tests.helpers import stepping_clock


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += timedelta(milliseconds=ms)


def _two_writes(gap_ms: float, *, settle_between: bool = False, seed: int = 3) -> tuple[int, int]:
    """Tag A then (gap later) tag B on 300 assets; returns (assets missing B, library.lost_writes)."""
    clock = ManualClock()
    lib = FakeLibrary(clock=clock, lost_writes_rate=0.3, lost_writes_window_ms=500, seed=seed)
    ids = [lib.add_asset(f"{i}.jpg").id for i in range(300)]
    tag_a, tag_b = lib.create_tag("a"), lib.create_tag("b")
    clock.advance(2000)
    lib.tag_assets([tag_a.id], ids)
    if settle_between:
        lib.settle()
    clock.advance(gap_ms)
    assert lib.tag_assets([tag_b.id], ids) == len(ids)  # confirmed...
    lib.settle()
    return len(ids) - len(lib.tag_members[tag_b.id]), lib.lost_writes  # ...yet some are gone


def test_quick_successive_writes_are_lost_at_roughly_the_rate() -> None:
    missing, lost = _two_writes(100)
    assert 50 <= missing <= 130  # 30% of 300 = 90
    assert lost == missing


def test_spaced_or_settled_writes_are_never_lost() -> None:
    assert _two_writes(800)[0] == 0
    assert _two_writes(100, settle_between=True)[0] == 0


def test_same_seed_same_losses() -> None:
    assert _two_writes(100, seed=9) == _two_writes(100, seed=9)


def test_lost_removal_comes_back() -> None:
    clock = ManualClock()
    lib = FakeLibrary(clock=clock, lost_writes_rate=1.0, lost_writes_window_ms=500)
    asset = lib.add_asset("x.jpg")
    tag_a, tag_c = lib.create_tag("a"), lib.create_tag("c")
    lib.tag_assets([tag_c.id], [asset.id])
    lib.settle()
    clock.advance(1000)
    lib.tag_assets([tag_a.id], [asset.id])
    clock.advance(50)
    assert lib.untag_assets([tag_c.id], [asset.id]) == 1
    assert asset.id in lib.tag_members[tag_c.id]  # the re-extraction read the old sidecar


def test_deleted_tag_returns_with_a_new_id_on_metadata_refresh() -> None:
    lib = FakeLibrary()
    c = TestClient(create_app(lib), headers={"x-api-key": "fake-api-key"})
    asset = lib.add_asset("x.jpg")
    tag = c.put("/api/tags", json={"tags": ["autotag/output/meme"]}).json()[0]
    c.put("/api/tags/assets", json={"tagIds": [tag["id"]], "assetIds": [asset.id]})
    assert c.delete(f"/api/tags/{tag['id']}").status_code == 204
    assert c.get(f"/api/assets/{asset.id}").json()["tags"] == []
    answer = c.post("/api/assets/jobs", json={"assetIds": [asset.id], "name": "refresh-metadata"})
    assert answer.status_code == 204
    back = c.get(f"/api/assets/{asset.id}").json()["tags"]
    assert [t["value"] for t in back] == ["autotag/output/meme"]
    assert back[0]["id"] != tag["id"]


def test_untag_updates_the_sidecar() -> None:
    lib = FakeLibrary()
    asset = lib.add_asset("x.jpg")
    tag = lib.create_tag("meme")
    lib.tag_assets([tag.id], [asset.id])
    lib.untag_assets([tag.id], [asset.id])
    lib.refresh_metadata([asset.id])
    assert not lib.asset_tags.get(asset.id)


def test_async_jobs_show_in_queues_until_settled() -> None:
    lib = FakeLibrary(jobs="async", job_delay_s=60, clock=stepping_clock())
    c = TestClient(create_app(lib), headers={"x-api-key": "fake-api-key"})
    asset = lib.add_asset("x.jpg")
    tag = lib.create_tag("meme")
    before = asset.updated_at
    c.put("/api/tags/assets", json={"tagIds": [tag.id], "assetIds": [asset.id]})
    waiting = {q["name"]: q["statistics"]["waiting"] for q in c.get("/api/queues").json()}
    assert waiting["sidecar"] == 1
    assert asset.updated_at == before
    lib.settle()
    waiting = {q["name"]: q["statistics"]["waiting"] for q in c.get("/api/queues").json()}
    assert sum(waiting.values()) == 0
    assert asset.updated_at > before
