"""docs/queries.md cannot drift: each of its ten queries runs through `autotag sql` on a synced library."""

from __future__ import annotations

import re
from pathlib import Path

from autotag import session as ops
from autotag.config import AutotagConfig
from autotag.report import run_sql
from autotag.session import Session
from immich_mirror.fake.generate import generate_library
from tests.helpers import fake_client

DOC = (Path(__file__).parents[2] / "docs" / "queries.md").read_text(encoding="utf-8")


def test_the_ten_documented_queries_run_and_answer(tmp_path: Path) -> None:
    queries = re.findall(r"```sql\n(.*?)```", DOC, flags=re.S)
    assert len(queries) == 10
    library = generate_library(400, seed=5)
    session = Session(cfg=AutotagConfig(), db_path=tmp_path / "m.db", client_factory=lambda: fake_client(library))
    ops.sync(session)
    answered = 0
    for query in queries:
        cols, rows = run_sql(session, query)
        assert cols, query
        answered += bool(rows)
    assert answered >= 8  # a realistic library has rows for nearly all of them
    session.close()
