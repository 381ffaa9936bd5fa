"""docs/rules.md cannot drift: its example queries run, its views exist, its default rules are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from sqlalchemy import text

from autotag.config import RuleConfig, default_rules
from tests.autotag.mirror import Mirror

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)


def test_example_queries_run(tmp_path: Path) -> None:
    m = Mirror(tmp_path / "m.db")
    m.asset("a")
    m.album("al1", "2023-01 Ski", "a")
    m.album("al2", "2023-02 Party", "a")
    m.install()
    statements = [s.strip() for block in blocks("sql") for s in block.split(";") if s.strip()]
    assert len(statements) >= 5
    with m.engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement)).fetchall()


def test_every_view_is_documented(tmp_path: Path) -> None:
    m = Mirror(tmp_path / "m.db")
    m.install({"rules": [{"name": "s", "sql": "1"}]})
    views = {str(r[0]) for r in m.rows("SELECT name FROM sqlite_master WHERE type = 'view'")}
    views -= {"duplicate_groups"}  # the mirror's own view, documented with the schema
    documented = set(re.findall(r"^\| `(\w+)`", DOC, flags=re.M)) | {"rule_sql_0", "conflicts"}
    assert views <= documented


def test_default_rules_as_documented() -> None:
    doc_rules = next(yaml.safe_load(b) for b in blocks("yaml") if "event_album" in b)["rules"]
    assert [RuleConfig(**r) for r in doc_rules] == default_rules()
