"""Undo of a run that changed nothing on the server says so, and names the run that did."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from autotag import session as ops
from immich_mirror.errors import ImmichMirrorError
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session


def test_undo_of_a_classify_only_run_names_the_run_that_pushed(tmp_path: Path, version: str) -> None:
    lib = FakeLibrary(seed=4)
    photo = lib.add_asset("a.jpg", date_time_original=datetime(2021, 5, 5, tzinfo=UTC)).id
    s = fake_session(lib, tmp_path / "m.db", version)
    try:
        ops.sync(s)
        classified = ops.classify(s, dry_run=False)
        assert classified.run_id is not None
        with pytest.raises(ImmichMirrorError) as queued:
            ops.undo(s, run_id=classified.run_id, apply=False)
        assert str(queued.value) == (
            f"run {classified.run_id} (classify) changed nothing on the server: "
            "its 1 queued change(s) are not pushed yet"
        )
        ops.push(s)
        with s.engine.connect() as conn:
            pushed = conn.exec_driver_sql("SELECT max(id) FROM runs WHERE command = 'push'").scalar_one()
        with pytest.raises(ImmichMirrorError) as applied:
            ops.undo(s, run_id=classified.run_id, apply=True)
        assert str(applied.value) == (
            f"run {classified.run_id} (classify) changed nothing on the server: what it queued was applied by "
            f"run {pushed} (push); undo that: `autotag undo --run {pushed}`"
        )
        assert lib.tag_by_value("autotag_output_unknown") is not None
        ops.undo(s, run_id=pushed, apply=True)
        assert lib.tag_by_value("autotag_output_unknown") is None
        assert lib.asset_tags.get(photo, set()) == set()
    finally:
        s.close()
