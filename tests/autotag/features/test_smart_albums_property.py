"""Property: smart albums beside every organiser feature, on generated libraries (the proposals property's):
a run leaves each smart album equal to its rule, a rerun plans nothing, undo restores the start.
10 examples in the default suite, 100 with ``make test-slow``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from autotag import session as ops
from autotag.config import default_rules, parse_config
from tests.autotag.features.test_proposals_property import CFG, LIBRARIES, Spec, _build, _state
from tests.helpers import fake_session

SMART = {
    **CFG,
    # a compilation counting one smart album: its members are classified by it (the closure's concern)
    "rules": [*(r.model_dump(exclude_defaults=True) for r in default_rules()),
              {"name": "best_of", "album_name_regex": "^Best of ", "exclusive": False}],
    "smart_albums": [
        {"album": "Best of trips", "tags": "trip"},
        {"album": "People", "tags": "people", "include_descendants": True},
        {"album": "Outdoors", "album_name_regex": ["Hike", "Lake"]},
    ],
}


def check(specs: list[Spec]) -> None:
    lib, ids = _build(specs)
    start = _state(lib, ids)
    with tempfile.TemporaryDirectory() as tmp:
        s = fake_session(lib, Path(tmp) / "m.db", "3.1.0", parse_config(SMART))
        try:
            first = ops.run(s)
            assert first.push.dead == 0 and first.push.failed == 0, specs
            with s.engine.connect() as conn:
                wrong = conn.exec_driver_sql("SELECT count(*) FROM smart_albums_plan").scalar()
            assert wrong == 0, specs
            again = ops.run(s)
            assert again.classify.summary.changes == 0 and again.push.sent == 0, (again.classify.summary, specs)
            if first.by_kind:
                ops.undo(s, run_id=first.run_id, apply=True)
            assert _state(lib, ids) == start, specs
        finally:
            s.close()


@settings(max_examples=10, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(specs=LIBRARIES)
def test_smart_albums_converge_and_undo_beside_every_feature(specs: list[Spec]) -> None:
    check(specs)


@pytest.mark.slow
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(specs=LIBRARIES)
def test_smart_albums_converge_and_undo_beside_every_feature_long(specs: list[Spec]) -> None:
    check(specs)
