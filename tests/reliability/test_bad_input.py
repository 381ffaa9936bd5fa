"""Bad input: every case of docs/errors.md gets exactly the one line the doc shows, and no traceback.

The table in docs/errors.md and ``CASES`` must name the same cases, so the doc cannot drift from what
the tool says. Also: the config loader, fuzzed, only ever succeeds or raises ``ConfigError``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotag.config import parse_config
from immich_mirror.db.engine import integrity_ok
from immich_mirror.db.migrate import head_revision, open_db
from immich_mirror.errors import ConfigError
from tests.reliability.bad_inputs import CASES, KEY, READ_ONLY_KEY, Servers, doc_rows, run_case
from tests.terminal import PROGRESS_LINE


def test_doc_table_lists_exactly_the_tested_cases() -> None:
    assert sorted(doc_rows()) == sorted(c.id for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_the_documented_line(
    case: Any, tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, message, raw = run_case(case, tmp_path, servers, monkeypatch)
    # The steps that finished before the error said so as they ended (a log shows how far it got).
    lines = [line for line in message.splitlines() if line.strip() and not PROGRESS_LINE.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), raw
    assert "Traceback" not in raw
    assert KEY not in raw and READ_ONLY_KEY not in raw
    _command, doc_code, doc_message = doc_rows()[case.id]
    assert (code, lines[0]) == (doc_code, doc_message)


def test_debug_adds_the_traceback(tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    case = next(c for c in CASES if c.id == "db-disk-full")
    code, _message, raw = run_case(case, tmp_path, servers, monkeypatch, ("--debug",))
    assert code == 1 and "Traceback" in raw and "database or disk is full" in raw


def test_interrupted_migration_leaves_a_database_the_next_run_migrates(
    tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(c for c in CASES if c.id == "db-migration-interrupted")
    with monkeypatch.context() as mp:
        code, _m, _raw = run_case(case, tmp_path, servers, mp)
    assert code == 1
    with sqlite3.connect(tmp_path / "mirror.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(), f"half a migration was committed: {sorted(tables)}"
    engine = open_db(tmp_path / "mirror.db")
    try:
        assert integrity_ok(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    finally:
        engine.dispose()


def test_disk_full_mid_sync_keeps_the_database_usable(
    tmp_path: Path, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(c for c in CASES if c.id == "db-disk-full")
    with monkeypatch.context() as mp:
        assert run_case(case, tmp_path, servers, mp)[0] == 1
    engine = open_db(tmp_path / "mirror.db")
    try:
        assert integrity_ok(engine)
    finally:
        engine.dispose()
    with monkeypatch.context() as mp:
        mp.setenv("IMMICH_URL", servers.fake)
        mp.setenv("IMMICH_API_KEY", KEY)
        from autotag.cli import main

        assert main(["--db", str(tmp_path / "mirror.db"), "sync"]) == 0


# ---------------------------------------------------------------------------------------- fuzzing
SECTIONS = ["immich", "db", "scope", "rules", "markers", "exclude", "only", "push", "duplicates", "dates",
            "album_dates", "folder_albums", "tag_albums", "url", "api_key", "timeout", "name", "sql", "tags",
            "album_name_regex", "visibility", "chunk_size", "enabled", "unclassified", "conflict"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["^(", "[", "timeline", "locked", "x/y", "/bad", "1 = 1", "no_col = 1", "", "  "]),
)
keys = st.one_of(st.sampled_from(SECTIONS), st.text(max_size=8))
documents = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
top = st.dictionaries(st.sampled_from(SECTIONS), documents, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(top, documents))
def test_config_loader_only_succeeds_or_raises_config_error(doc: Any, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "c.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    from autotag.config import load_config

    try:
        load_config(path, env={})
    except ConfigError as exc:
        assert "\n" not in exc.message


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_config_loader_survives_random_text(text: str, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "c.yaml"
    path.write_text(text, encoding="utf-8")
    from autotag.config import load_config

    with contextlib.suppress(ConfigError):
        load_config(path, env={})


@settings(max_examples=100, deadline=None)
@given(doc=top)
def test_parse_config_only_raises_config_error(doc: dict[str, Any]) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(doc)
