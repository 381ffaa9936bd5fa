"""The organiser features end to end against the fake server: plan, push, sync, rerun plans nothing, undo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from autotag import session as ops
from autotag.config import parse_config
from autotag.session import Session
from immich_mirror.errors import UnexpectedResponse
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_client, fake_session, fake_session_fixture

DUP = "autotag_output_duplicate_asset_classification_conflict"
ALL_ON = {
    "duplicates": {"enabled": True},
    "dates": {"enabled": True},
    "album_dates": {"enabled": True},
    "folder_albums": {"enabled": True},
    "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats"}]},
}


@pytest.fixture
def library() -> FakeLibrary:
    lib = FakeLibrary(seed=5)
    upload = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    add = lib.add_asset
    ids = {
        "beach": add("IMG_20190601_120000.jpg", date_time_original=datetime(2019, 6, 1, 12, tzinfo=UTC)).id,
        "beach_copy": add("IMG-20190601-WA0001.jpg", file_created_at=upload).id,
        "meme": add("meme.jpg", date_time_original=datetime(2020, 1, 1, tzinfo=UTC)).id,
        "hike": add("hike.jpg", date_time_original=datetime(2019, 7, 1, tzinfo=UTC)).id,
        "whatsapp": add("IMG-20200101-WA0001.jpg", file_created_at=upload).id,
        "epoch": add("PXL_20210101_123456789.jpg", date_time_original=datetime(1970, 1, 1, tzinfo=UTC),
                     time_zone="Europe/Berlin").id,
        "folder1": add("DSC1.JPG", original_path="/mnt/photos/2019/2019-08-01 Lake/DSC1.JPG",
                       library_id="lib-ext", date_time_original=datetime(2019, 8, 1, 9, tzinfo=UTC)).id,
        "folder2": add("DSC2.JPG", original_path="/mnt/photos/2019/2019-08-01 Lake/DSC2.JPG",
                       library_id="lib-ext", date_time_original=datetime(2019, 8, 1, 10, tzinfo=UTC)).id,
        "cat": add("cat.jpg", date_time_original=datetime(2021, 5, 5, tzinfo=UTC)).id,
        "far": add("far.jpg", date_time_original=datetime(2023, 1, 1, tzinfo=UTC)).id,
    }
    lib.create_album("2019-06-01 Beach", asset_ids=[ids["beach"], ids["far"]])
    lib.create_album("2019-07-01 Hike", asset_ids=[ids["hike"]])
    lib.create_album("Mine", asset_ids=[])  # not created by the tool: undo must never delete it
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], [ids["meme"]])
    cat = lib.create_tag("pets/cat")
    lib.tag_assets([cat.id], [ids["cat"]])
    lib.set_duplicate([ids["beach"], ids["beach_copy"]], "11111111-1111-4111-8111-111111111111")
    lib.set_duplicate([ids["meme"], ids["hike"]], "22222222-2222-4222-8222-222222222222")
    lib.ids = ids  # type: ignore[attr-defined]
    return lib


session = fake_session_fixture(ALL_ON)


def album(lib: FakeLibrary, name: str) -> set[str]:
    found = [a for a in lib.albums.values() if a.name == name]
    assert len(found) == 1, name
    return set(found[0].members)


def tagged(lib: FakeLibrary, value: str) -> set[str]:
    tag = lib.tag_by_value(value)
    return set(lib.tag_members.get(tag.id, set())) if tag else set()


def test_features_end_to_end_then_rerun_plans_nothing_then_undo(session: Session, library: FakeLibrary) -> None:
    ids: dict[str, str] = library.ids  # type: ignore[attr-defined]
    before_dates = {a: library.assets[a].date_time_original for a in ids.values()}
    ops.sync(session)
    dry = ops.classify(session, dry_run=True)
    # the WhatsApp copy, WhatsApp and the 1970 Pixel photo; meme and hike (twins) feed each other nothing:
    # neither date came from a camera's metadata, nor from a name
    assert dry.summary.kinds.get("set_date") == 3
    ops.run(session)

    # duplicates: the WhatsApp copy joined the beach album; the meme/hike group is flagged
    assert ids["beach_copy"] in album(library, "2019-06-01 Beach")
    assert tagged(library, DUP) == {ids["meme"], ids["hike"]}
    # dates: the copy took its day at noon, WhatsApp too, the 1970 photo its Pixel name (UTC), shown in Berlin
    assert library.assets[ids["beach_copy"]].date_time_original == datetime(2019, 6, 1, 12, tzinfo=UTC)
    assert library.assets[ids["whatsapp"]].date_time_original == datetime(2020, 1, 1, 12, tzinfo=UTC)
    assert library.assets[ids["epoch"]].date_time_original == datetime(2021, 1, 1, 12, 34, 56, tzinfo=UTC)
    # album dates, folder albums, tag albums
    assert tagged(library, "autotag_output_album_date_mismatch") == {ids["far"]}
    assert album(library, "2019-08-01 Lake") == {ids["folder1"], ids["folder2"]}
    assert album(library, "Cats") == {ids["cat"]}

    again = ops.run(session)
    assert again.push.sent == 0 and again.push.dead == 0
    assert again.classify.summary.changes == 0

    # the user resolves the duplicate conflict: the flag comes off
    hike = next(a for a in library.albums.values() if a.name == "2019-07-01 Hike")
    library.remove_from_album(hike.id, [ids["hike"]])
    ops.run(session)
    assert tagged(library, DUP) == set()

    # undo the first run: dates back, the tool's albums deleted, the user's album kept
    with session.engine.connect() as conn:
        first = conn.execute(text("SELECT min(run_id) FROM changes WHERE kind = 'set_date'")).scalar()
    ops.undo(session, run_id=first, apply=True)
    upload = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # what Immich showed for the assets without EXIF
    for name in ("beach_copy", "whatsapp", "epoch", "meme"):
        assert library.assets[ids[name]].date_time_original == (before_dates[ids[name]] or upload), name
    names = {a.name for a in library.albums.values()}
    assert "2019-08-01 Lake" not in names and "Cats" not in names
    assert "Mine" in names and "2019-06-01 Beach" in names


def test_two_albums_with_the_wanted_name_do_not_stop_the_run(session: Session, library: FakeLibrary) -> None:
    library.create_album("Cats")
    library.create_album("Cats")
    result = ops.run(session)
    assert result.push.dead == 0
    assert result.classify.problems == [
        ("tag_albums", "several albums are named 'Cats': add the assets by hand or rename one")
    ]
    assert result.as_dict()["problems"] == [
        "tag_albums: several albums are named 'Cats': add the assets by hand or rename one"
    ]
    assert all(not a.members for a in library.albums.values() if a.name == "Cats")
    assert library.assets[library.ids["whatsapp"]].date_time_original.year == 2020  # type: ignore[attr-defined]


def test_generated_library_converges_with_every_feature(tmp_path: Path, version: str) -> None:
    """The demo library (WhatsApp names, wrong EXIF dates, duplicate groups, external folders)."""
    from immich_mirror.fake.generate import generate_library

    lib = generate_library(600, seed=11)
    cfg = parse_config({**ALL_ON, "tag_albums": {"enabled": True, "rules": [{"tag": "pets/cat", "album": "Cats"}]}})
    s = fake_session(lib, tmp_path / "m.db", version, cfg)
    try:
        first = ops.run(s)
        kinds = first.classify.summary.kinds
        assert first.push.dead == 0 and first.push.failed == 0
        with s.engine.connect() as conn:
            done = dict(conn.execute(text("SELECT kind, count(*) FROM changes GROUP BY kind")).all())
        assert done.get("set_date", 0) > 20 and done.get("album_add", 0) > 0 and done.get("album_create", 0) > 0
        # One feature's change makes work for another (a folder album puts an asset in an event album,
        # which puts it far from the album's date): the plan is closed over such cascades before it is
        # queued, so the very next run plans nothing at all. (Twins follow a proposal in the same round.)
        assert first.classify.rounds >= 2
        second = ops.run(s)
        assert second.classify.summary.changes == 0 and second.push.sent == 0
        assert kinds  # the first run had work to do
    finally:
        s.close()


def _mirror_rows(s: Session) -> dict[str, list[tuple[object, ...]]]:
    tables = {"albums": "id, name, members_key", "album_assets": "album_id, asset_id", "tags": "id, value",
              "asset_tags": "asset_id, tag_id", "assets": "id, date_time_original, local_date_time"}
    with s.engine.connect() as conn:
        return {t: sorted(tuple(r) for r in conn.exec_driver_sql(f"SELECT {c} FROM {t}")) for t, c in tables.items()}


def test_a_cascade_is_planned_in_one_go_and_the_rehearsal_leaves_no_trace(tmp_path: Path, version: str) -> None:
    """Folder album -> event album -> the duplicate twin follows -> its marker is never added."""
    lib = FakeLibrary(seed=9)
    add = lib.add_asset
    inside = add("DSC1.JPG", original_path="/mnt/photos/2019-08-01 Lake/DSC1.JPG", library_id="lib-ext",
                 date_time_original=datetime(2019, 8, 1, 9, tzinfo=UTC)).id
    twin = add("copy.jpg", date_time_original=datetime(2019, 8, 1, 9, tzinfo=UTC)).id
    lib.set_duplicate([inside, twin], "33333333-3333-4333-8333-333333333333")
    cfg = parse_config({"duplicates": {"enabled": True}, "folder_albums": {"enabled": True}})
    s = fake_session(lib, tmp_path / "m.db", version, cfg)
    try:
        ops.sync(s)
        before = _mirror_rows(s)
        dry = ops.classify(s, dry_run=True, preview=None)
        assert _mirror_rows(s) == before
        planned = {(r.kind, r.target, r.asset_id) for r in dry.rows}
        assert planned == {("album_add", "name:2019-08-01 Lake", inside), ("album_add", "name:2019-08-01 Lake", twin)}
        assert dry.rounds == 2  # the twin follows the folder's proposal in the first round (autotag.proposals)
        assert dry.summary.statuses["unclassified"] == 0  # counted as the plan leaves the library
        result = ops.run(s)
        assert album(lib, "2019-08-01 Lake") == {inside, twin}
        assert tagged(lib, "autotag_output_unknown") == set()
        assert result.classify.summary.statuses["unclassified"] == 0
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()


def test_a_repaired_date_counts_at_once_for_the_album_date_check(tmp_path: Path, version: str) -> None:
    """Immich moves localDateTime only after its jobs; the run after the push (jobs still queued) must
    judge the asset by its new date, not flag it as far from its album and unflag it later."""
    lib = FakeLibrary(seed=6, jobs="manual")
    upload = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    asset = lib.add_asset("IMG-20190601-WA0001.jpg", file_created_at=upload)
    lib.create_album("2019-06-01 Beach", asset_ids=[asset.id])
    lib.settle()
    cfg = parse_config({"dates": {"enabled": True}, "album_dates": {"enabled": True}})
    s = fake_session(lib, tmp_path / "m.db", version, cfg)
    try:
        first = ops.run(s)
        assert first.classify.summary.kinds == {"set_date": 1}
        assert lib.assets[asset.id].date_time_original == datetime(2019, 6, 1, 12, tzinfo=UTC)
        again = ops.run(s)  # the server's jobs have not run: its timeline date is still the upload's
        assert again.classify.summary.changes == 0, again.classify.summary.kinds
        lib.settle()
        assert ops.run(s).classify.summary.changes == 0
    finally:
        s.close()
    assert tagged(lib, "autotag_output_album_date_mismatch") == set()


def test_a_date_set_whose_answer_was_lost_is_logged_and_undone(tmp_path: Path, version: str) -> None:
    """PUT /assets reached the server but its answer did not: the next run finds the date there, logs
    the change with both dates (not cancelled unlogged), and undo puts the old date back."""
    lib = FakeLibrary(seed=7)
    upload = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    asset = lib.add_asset("IMG-20190601-WA0001.jpg", file_created_at=upload)
    lost: list[str] = []

    def client() -> Any:
        c = fake_client(lib, version)
        real = c.request

        def request(method: str, path: str, **kw: Any) -> Any:
            response = real(method, path, **kw)
            if (method, path) == ("PUT", "/assets") and not lost:
                lost.append(path)
                raise UnexpectedResponse("the connection closed before the answer came (test)")
            return response

        c.request = request  # type: ignore[method-assign]
        return c

    s = fake_session(lib, tmp_path / "m.db", version, parse_config({"dates": {"enabled": True}}))
    s.client_factory = client
    try:
        with pytest.raises(UnexpectedResponse):
            ops.run(s)
        assert lost
        assert lib.assets[asset.id].date_time_original == datetime(2019, 6, 1, 12, tzinfo=UTC)
        second = ops.run(s)
        assert second.classify.enqueued.confirmed == 1 and second.classify.summary.changes == 0
        with s.engine.connect() as conn:
            change = conn.execute(text("SELECT run_id, before, after, note FROM changes WHERE kind = 'set_date'")).one()
        assert change.note.startswith("applied; the server's answer was lost")
        assert "2019-06-01T12:00:00" in change.after and "2024-03-01T10:00:00" in change.before
        ops.undo(s, run_id=change.run_id, apply=True)
    finally:
        s.close()
    assert lib.assets[asset.id].date_time_original == upload
