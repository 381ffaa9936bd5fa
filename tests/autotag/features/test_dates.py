"""Date repair over a hand-filled mirror: the date's source, the policy, zones, folders, duplicates, undo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotag.plan import PlanRow
from tests.autotag.mirror import Mirror

CFG = {"dates": {"enabled": True}}
UPLOAD = "2024-03-01T10:00:00"


@pytest.fixture
def m(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "m.db")


def asset(
    m: Mirror,
    aid: str,
    name: str,
    exif: str | None = None,
    tz: str | None = None,
    path: str | None = None,
    upload: str = UPLOAD,
) -> str:
    """An asset as Immich reports it. No ``exif``: dated by its file (the upload): the EXIF date, file
    time and timeline date are all the upload's, no zone, no camera. ``exif`` (a wall clock in ``tz``):
    read from the file's metadata, a camera make and model, the file time is the upload's."""
    m.asset(aid, path=path)
    if exif is None:
        dto, local, make = upload + ".000Z", upload + ".000Z", None
    else:
        from autotag.zones import zoned_iso as sql_zoned_iso
        from immich_mirror.sync.rows import iso_utc

        dto, local, make = iso_utc(sql_zoned_iso(exif, tz)), exif + ".000Z", "Google"
    m.sql(
        "UPDATE assets SET original_file_name = :n, local_date_time = :l, date_time_original = :d, "
        "time_zone = :tz, file_created_at = :d, file_modified_at = :u, created_at = :u, "
        "raw = json_object('exifInfo', json_object('make', :make, 'model', :make)) WHERE id = :a",
        n=name, l=local, d=dto, tz=tz, u=upload + ".000Z", make=make, a=aid,
    )
    return aid


def dates(m: Mirror, cfg: dict[str, object] = CFG) -> dict[str, PlanRow]:
    m.install(cfg)
    return {r.asset_id or "": r for r in m.plan() if r.kind == "set_date"}


def new(row: PlanRow) -> str:
    return str(json.loads(row.payload or "{}")["dateTimeOriginal"])


def pushed(m: Mirror, row: PlanRow, *, landed: bool = True) -> None:
    """The outbox row of ``row`` sent; ``landed``: the server took it and a sync read it back."""
    m.sql(
        "INSERT INTO outbox (run_id, kind, target, asset_id, payload, before, reason, idem_key, state, attempts, "
        "created_at, updated_at) VALUES (NULL, 'set_date', 'date', :a, :p, :b, :r, :k, 'sent', 1, :t, :t)",
        a=row.asset_id, p=row.payload, b=row.before, r=row.reason, k=row.idem_key, t=UPLOAD,
    )
    if landed:
        from immich_mirror.sync.rows import iso_utc

        label = "UTC" + new(row)[19:22].replace("+0", "+").replace("-0", "-")
        m.sql("UPDATE assets SET date_time_original = :d, time_zone = :z, local_date_time = :l WHERE id = :a",
              d=iso_utc(new(row)), z=label, l=new(row)[:19] + ".000Z", a=row.asset_id)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG_20190412_153000.jpg", "2019-04-12T15:30:00+00:00"),
        ("VID_20190412_153000.mp4", "2019-04-12T15:30:00+00:00"),
        ("IMG-20200101-WA0001.jpg", "2020-01-01T12:00:00+00:00"),
        ("img-20200229-wa0007.jpg", "2020-02-29T12:00:00+00:00"),
        ("Screenshot_20210611-094512_Chrome.jpg", "2021-06-11T09:45:12+00:00"),
        ("Screenshot 2021-03-02 at 7.12.05 PM.png", "2021-03-02T19:12:05+00:00"),
        ("2022-10-01_16-45-10.jpg", "2022-10-01T16:45:10+00:00"),
        ("21-05-07 10-11-12 1234.jpg", "2021-05-07T10:11:12+00:00"),
        ("1588312345678.jpg", "2020-05-01T05:52:25+00:00"),
        (".trashed-1700000000-PXL_20230101_101010123.jpg", "2023-01-01T10:10:10+00:00"),
    ],
)
def test_upload_dated_assets_get_the_date_in_their_name(m: Mirror, name: str, expected: str) -> None:
    asset(m, "a", name)
    plan = dates(m)
    assert new(plan["a"]) == expected
    # the exact old state, null zone included, is what undo restores
    assert json.loads(plan["a"].before or "{}") == {"dateTimeOriginal": "2024-03-01T10:00:00+00:00", "timeZone": None}
    assert (plan["a"].reason or "").startswith("date 2024-03-01 10:00:00 -> ")
    assert "file's timestamps" in (plan["a"].reason or "")


def test_negatives_plan_nothing(m: Mirror) -> None:
    for i, name in enumerate(["IMG_20180202_0930001.jpg", "DSC01234.JPG", "1920x1080.png", "IMG_20191332_153000.jpg",
                              "3f786850e387550fdab836ed7e6dc881de23001b.jpg", "Snapchat-1588312345.jpg"]):
        asset(m, f"n{i}", name)
    assert dates(m) == {}


def test_pixel_names_are_utc_local_names_are_wall_clock(m: Mirror) -> None:
    asset(m, "pxl", "PXL_20210701_123456789.jpg")
    asset(m, "img", "IMG_20210701_123456.jpg")
    plan = dates(m, {"dates": {"enabled": True, "default_time_zone": "Europe/Berlin"}})
    assert new(plan["pxl"]) == "2021-07-01T14:34:56+02:00"  # the instant, shown in the zone
    assert new(plan["img"]) == "2021-07-01T12:34:56+02:00"  # the wall clock, in the zone
    assert json.loads(plan["pxl"].payload or "")["timeZone"] == "Europe/Berlin"


def test_metadata_dates_are_left_unless_not_credible_or_opted_in(m: Mirror) -> None:
    asset(m, "exif", "IMG_20190412_153000.jpg", exif="2019-04-20T08:00:00", tz="UTC+2")  # a good EXIF date
    asset(m, "epoch", "IMG_20190412_153000.jpg", exif="1970-01-01T00:00:05")  # not credible: fixed
    asset(m, "reset", "IMG_20190412_153000.jpg", exif="2000-01-01T00:00:00")  # camera reset: fixed
    plan = dates(m)
    assert set(plan) == {"epoch", "reset"}
    assert "not credible" in (plan["epoch"].reason or "")
    opted = dates(m, {"dates": {"enabled": True, "override_metadata": True}})
    assert set(opted) == {"exif", "epoch", "reset"}
    assert new(opted["exif"]) == "2019-04-12T15:30:00+02:00"  # its own zone kept
    assert "override_metadata" in (opted["exif"].reason or "")


def test_agreeing_dates_are_kept(m: Mirror) -> None:
    asset(m, "sameday", "IMG-20200101-WA0001.jpg", upload="2020-01-01T18:00:00")  # day only, same day
    asset(m, "tz", "IMG_20200101_153000.jpg", upload="2020-01-01T13:30:00")  # wall clock vs UTC: 2 h apart
    asset(m, "pxl", "PXL_20200101_133000123.jpg", upload="2020-01-01T13:30:01")  # the same instant
    asset(m, "dayafter", "IMG-20200101-WA0001.jpg", upload="2020-01-02T09:00:00")
    plan = dates(m)
    assert set(plan) == {"dayafter"}
    assert new(plan["dayafter"]) == "2020-01-01T12:00:00+00:00"


def test_candidates_must_be_credible(m: Mirror) -> None:
    asset(m, "old", "IMG_19850412_153000.jpg")  # before min_date
    asset(m, "after_upload", "IMG_20240501_153000.jpg")  # after the upload: not the capture
    asset(m, "reset", "IMG_20000101_000000.jpg")
    assert dates(m) == {}
    assert set(dates(m, {"dates": {"enabled": True, "min_date": "1980-01-01"}})) == {"old"}


def test_folders_mark_an_event_start(m: Mirror) -> None:
    trip = "/mnt/p/2024-03-01 Trip/"
    asset(m, "in_trip", "DSC01234.JPG", path=trip + "DSC01234.JPG", upload="2024-03-05T10:00:00")
    later = "2024-06-01T10:00:00"
    asset(m, "exif", "DSC01235.JPG", exif="2024-03-05T09:00:00", path=trip + "DSC01235.JPG", upload=later)
    asset(m, "late_upload", "DSC01236.JPG", path=trip + "DSC01236.JPG", upload="2024-06-01T10:00:00")
    asset(m, "named", "IMG_20240304_101112.jpg", path=trip + "IMG_20240304_101112.jpg", upload="2024-06-01T10:00:00")
    asset(m, "tree", "x.jpg", path="/mnt/p/2016/08/14/Day 2/x.jpg")
    asset(m, "month", "y.jpg", path="/mnt/p/2016/08/y.jpg")
    plan = dates(m)
    assert set(plan) == {"late_upload", "named", "tree", "month"}
    assert new(plan["late_upload"]) == "2024-03-01T12:00:00+00:00"
    assert "the folder '2024-03-01 Trip' (where its event starts)" in (plan["late_upload"].reason or "")
    assert new(plan["named"]) == "2024-03-04T10:11:12+00:00"  # the name beats the folder
    assert new(plan["tree"]) == "2016-08-14T12:00:00+00:00"
    assert "'2016/08/14'" in (plan["tree"].reason or "")
    assert new(plan["month"]) == "2016-08-01T12:00:00+00:00"
    narrow = dates(m, {"dates": {"enabled": True, "event_window_days": 2}})
    assert "in_trip" in narrow


def test_families_can_be_switched_off(m: Mirror) -> None:
    asset(m, "shot", "Screenshot_20210611-094512.png")
    asset(m, "wa", "IMG-20200101-WA0001.jpg")
    asset(m, "dir", "x.jpg", path="/p/2016-08-14/x.jpg")
    assert set(dates(m, {"dates": {"enabled": True, "families": {"screenshot": False, "folder": False}}})) == {"wa"}


def test_time_zone_rule(m: Mirror) -> None:
    asset(m, "berlin", "IMG_20190412_153000.jpg", exif="2000-01-01T00:00:00", tz="Europe/Berlin")
    asset(m, "label", "IMG_20190112_153000.jpg", exif="2000-01-01T00:00:00", tz="UTC-5")
    asset(m, "none", "IMG_20190712_153000.jpg")
    plan = dates(m, {"dates": {"enabled": True, "default_time_zone": "Asia/Tokyo"}})
    assert json.loads(plan["berlin"].payload or "") == {
        "dateTimeOriginal": "2019-04-12T15:30:00+02:00",
        "timeZone": "Europe/Berlin",
    }
    assert json.loads(plan["berlin"].before or "") == {
        "dateTimeOriginal": "2000-01-01T00:00:00+01:00",
        "timeZone": "Europe/Berlin",
    }
    assert json.loads(plan["label"].payload or "") == {"dateTimeOriginal": "2019-01-12T15:30:00-05:00"}
    assert json.loads(plan["none"].payload or "") == {
        "dateTimeOriginal": "2019-07-12T15:30:00+09:00",
        "timeZone": "Asia/Tokyo",
    }


def test_duplicates_feed_metadata_and_names_only(m: Mirror) -> None:
    asset(m, "orig", "DSC01234.JPG", exif="2019-04-12T15:30:00", tz="UTC+2")
    asset(m, "copy", "IMG-20190413-WA0001.jpg")
    asset(m, "upload_only", "DSC09999.JPG")  # dated by its upload: feeds nothing
    asset(m, "other", "DSC09998.JPG")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('orig', 'copy')")
    m.sql("UPDATE assets SET duplicate_id = 'h' WHERE id IN ('upload_only', 'other')")
    plan = dates(m)
    assert set(plan) == {"copy"}
    assert new(plan["copy"]) == "2019-04-12T15:30:00+02:00"  # the member's instant and zone
    assert "the duplicate DSC01234.JPG (its own metadata)" in (plan["copy"].reason or "")
    assert set(dates(m, {"dates": {"enabled": True, "from_duplicates": False}})) == {"copy"}  # WhatsApp's day


def test_a_date_the_tool_wrote_never_feeds_a_duplicate(m: Mirror) -> None:
    """The plan is the same whatever part of a push landed: A's new date does not feed B."""
    asset(m, "a", "IMG_20190412_153000.jpg")
    asset(m, "b", "DSC01234.JPG")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('a', 'b')")
    first = dates(m)
    assert set(first) == {"a", "b"}
    pushed(m, first["a"])  # a's write landed, b's did not (a crash)
    again = dates(m)
    assert set(again) == {"b"}
    assert (again["b"].payload, again["b"].before) == (first["b"].payload, first["b"].before)
    pushed(m, first["b"])
    assert dates(m) == {}


def test_judged_by_the_state_before_the_first_write(m: Mirror) -> None:
    asset(m, "a", "IMG_20190412_153000.jpg")
    first = dates(m)["a"]
    pushed(m, first)
    assert dates(m) == {}
    # renamed on the server: parsed again, still judged by its original (file-dated) state and before
    m.sql("UPDATE assets SET original_file_name = 'IMG_20180101_000000.jpg' WHERE id = 'a'")
    again = dates(m)["a"]
    assert new(again) == "2018-01-01T00:00:00+00:00"
    assert again.before == first.before
    # a person changed the date in Immich after the tool: theirs is left alone
    m.sql("UPDATE assets SET date_time_original = '2017-05-05T05:05:05.000Z' WHERE id = 'a'")
    assert dates(m) == {}


def test_scope_and_names_parsed_once(m: Mirror) -> None:
    asset(m, "a", "IMG_20190412_153000.jpg")
    asset(m, "gone", "IMG_20190412_153000.jpg")
    m.exclude("gone")
    assert set(dates(m)) == {"a"}
    m.sql("UPDATE date_found SET value = '2011-11-11T11:11:11' WHERE asset_id = 'a'")
    # nothing it reads changed: its decision is kept, not computed again
    assert new(dates(m)["a"]).startswith("2019-04-12")
    m.sql("UPDATE assets SET created_at = '2024-03-02T10:00:00.000Z' WHERE id = 'a'")
    # evaluated again, from the stored parse: the name is not parsed again
    assert new(dates(m)["a"]).startswith("2011-11-11")


def test_what_a_renamed_or_deleted_asset_said_is_forgotten(m: Mirror) -> None:
    """Each classify reads again exactly the names that changed since the last one (and no other)."""
    asset(m, "a", "IMG_20190412_153000.jpg")
    asset(m, "b", "IMG_20190413_153000.jpg")
    asset(m, "c", "IMG_20190414_153000.jpg")
    assert set(dates(m)) == {"a", "b", "c"}
    m.sql("UPDATE date_found SET value = '2011-11-11T11:11:11' WHERE asset_id = 'c'")  # a parse kept, not redone
    m.sql("UPDATE assets SET original_file_name = 'holiday.jpg' WHERE id = 'a'")  # no date in the name now
    m.sql("DELETE FROM assets WHERE id = 'b'")
    plan = dates(m)
    assert set(plan) == {"c"}
    assert m.rows("SELECT asset_id, value FROM date_found ORDER BY 1") == [("c", "2011-11-11T11:11:11")]
    assert m.rows("SELECT asset_id FROM date_found_scan ORDER BY 1") == [("a",), ("c",)]
    m.sql("UPDATE assets SET original_file_name = 'IMG_20200101_120000.jpg' WHERE id = 'a'")  # dated again
    assert new(dates(m)["a"]).startswith("2020-01-01")


def test_a_config_change_evaluates_again(m: Mirror) -> None:
    asset(m, "a", "IMG-20200101-WA0001.jpg")
    assert new(dates(m)["a"]) == "2020-01-01T12:00:00+00:00"
    assert new(dates(m, {"dates": {"enabled": True, "date_only_time": "09:00:00"}})["a"]) == "2020-01-01T09:00:00+00:00"


def test_user_patterns_go_first(m: Mirror) -> None:
    asset(m, "a", "holiday_12.04.2019.jpg")
    assert dates(m) == {}
    cfg = {"dates": {"enabled": True, "patterns": [{"regex": r"(?P<d>\d{2})\.(?P<m>\d{2})\.(?P<Y>\d{4})"}]}}
    plan = dates(m, cfg)
    assert new(plan["a"]) == "2019-04-12T12:00:00+00:00"
    assert "(pattern)" in (plan["a"].reason or "")


def test_unknown_family_is_a_clear_error() -> None:
    from autotag.config import parse_config

    with pytest.raises(Exception, match="unknown family screenshots"):
        parse_config({"dates": {"enabled": True, "families": {"screenshots": False}}})


def test_a_config_listing_the_earlier_default_patterns_gets_the_parser() -> None:
    from autotag.config import _EARLIER_DEFAULT_PATTERNS, parse_config

    listed = [{"source": s, "regex": r} for s, r in _EARLIER_DEFAULT_PATTERNS]
    assert parse_config({"dates": {"enabled": True, "patterns": listed}}).dates.patterns == []
    assert len(parse_config({"dates": {"enabled": True, "patterns": listed[:1]}}).dates.patterns) == 1


def closed(m: Mirror, tmp_path: Path, cfg: dict[str, object] = CFG) -> dict[tuple[str, str], PlanRow]:
    """The plan as classify leaves it (proposals resolved, review markers given), by (kind, asset)."""
    from autotag import session as ops
    from autotag.config import parse_config
    from autotag.session import Session

    s = Session(cfg=parse_config(cfg), db_path=tmp_path / "m.db")
    try:
        result = ops.classify(s, dry_run=True, preview=None)
    finally:
        s.close()
    return {("review" if r.target == "autotag_output_review" else r.kind, r.asset_id or ""): r
            for r in result.rows if r.kind == "set_date" or r.target == "autotag_output_review"}


def test_an_assets_own_name_date_beats_a_disagreeing_duplicate(m: Mirror, tmp_path: Path) -> None:
    """A WhatsApp copy named for 2023-09-11 in a duplicate group with a 2010 photo: its date is not
    replaced by the 2010 one (nor by its own day): it goes to review, the reason naming both dates and
    the duplicate."""
    asset(m, "original", "DSC01234.JPG", exif="2010-05-14T09:30:00", tz="Europe/Berlin")
    asset(m, "forward", "IMG-20230911-WA0001.jpg", upload="2023-09-12T08:00:00")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('original', 'forward')")
    assert dates(m) == {}  # no date change for either
    plan = closed(m, tmp_path)
    review = plan[("review", "forward")]
    assert review.kind == "tag_add" and review.features == "review"
    assert review.reason == (
        "review: dates disagree: the file name (whatsapp) says 2023-09-11, the duplicate DSC01234.JPG "
        "(its own metadata) says 2010-05-14 09:30:00; its date 2023-09-12 08:00:00 is left as it is"
    )
    assert ("set_date", "forward") not in plan and ("review", "original") not in plan  # the original is fine
    # A person sets its date in Immich: theirs is the photo's own date now, nothing left to review.
    m.sql("UPDATE assets SET date_time_original = '2023-09-11T18:00:00.000Z', "
          "local_date_time = '2023-09-11T18:00:00.000Z' WHERE id = 'forward'")
    assert closed(m, tmp_path) == {}
    m.sql("UPDATE assets SET date_time_original = '2023-09-12T08:00:00.000Z', "
          "local_date_time = '2023-09-12T08:00:00.000Z' WHERE id = 'forward'")
    # Once the names agree (a duplicate of the same day), it takes the duplicate's exact time, no review.
    m.sql("UPDATE assets SET original_file_name = 'IMG-20100514-WA0001.jpg' WHERE id = 'forward'")
    plan = closed(m, tmp_path)
    assert ("review", "forward") not in plan
    assert new(plan[("set_date", "forward")]) == "2010-05-14T09:30:00+02:00"


def test_a_duplicates_name_disagreeing_goes_to_review_too(m: Mirror, tmp_path: Path) -> None:
    asset(m, "a", "IMG-20230911-WA0001.jpg", upload="2023-09-12T08:00:00")
    asset(m, "b", "IMG-20100514-WA0002.jpg", upload="2023-09-12T08:00:00")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('a', 'b')")
    plan = closed(m, tmp_path)
    assert not {k for k in plan if k[0] == "set_date"}
    said = {a: plan[("review", a)].reason or "" for a in ("a", "b")}
    assert "the file name of the duplicate IMG-20100514-WA0002.jpg says 2010-05-14" in said["a"]
    assert "the file name of the duplicate IMG-20230911-WA0001.jpg says 2023-09-11" in said["b"]


def test_a_duplicate_never_overrides_an_assets_own_metadata(m: Mirror) -> None:
    """Even with override_metadata (names may replace metadata), a duplicate's date is no better than
    the asset's own credible metadata date."""
    asset(m, "camera", "DSC05555.JPG", exif="2019-04-12T15:30:00", tz="Europe/Berlin")
    asset(m, "older", "DSC01234.JPG", exif="2015-01-01T10:00:00", tz="Europe/Berlin")
    m.sql("UPDATE assets SET duplicate_id = 'g' WHERE id IN ('camera', 'older')")
    assert dates(m, {"dates": {"enabled": True, "override_metadata": True}}) == {}
