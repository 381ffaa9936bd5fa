"""The mirror opens in any SQLite client: no view needs a function only autotag registers.

A demo-like library (every organiser feature on, plus a `sql:` rule) is synced, classified and pushed,
then changed on the server and synced again. Then:

- Python's sqlite3, with no function registered, reads every view docs/rules.md documents (parsed
  from the doc, so the test cannot drift), every view the mirror has, and every query of
  docs/queries.md and docs/rules.md, and gets for the rule views the rows `autotag sql --json` gives;
- Datasette, started with the command docs/queries.md shows, answers each view as JSON, the four
  views `classification`, `unclassified`, `conflicts` and `plan` with exactly `autotag sql --json`'s
  rows, and the saved-query URL of docs/queries.md.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from autotag import session as ops
from autotag.cli import main as cli
from autotag.config import parse_config
from autotag.demo import demo_config_text
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from tests.helpers import fake_session

DOCS = Path(__file__).parents[2] / "docs"
RULES_DOC = (DOCS / "rules.md").read_text(encoding="utf-8")
QUERIES_DOC = (DOCS / "queries.md").read_text(encoding="utf-8")
COMPARED = ("classification", "unclassified", "conflicts", "plan")
SQL_RULE = {"name": "scans", "sql": "assets.original_path LIKE '%/2019%'"}
SQL_SMART_ALBUM = {"album": "Scans 2019", "sql": "assets.original_path LIKE '%/2019%'"}
DEFAULT_RULES = next(
    yaml.safe_load(b)["rules"] for b in re.findall(r"```yaml\n(.*?)```", RULES_DOC, re.S) if "event_album" in b
)
SQL_RULE_POSITION = len(DEFAULT_RULES)

Row = dict[str, Any]


def documented_views(sql_rule: int = SQL_RULE_POSITION, sql_smart: int = 1) -> list[str]:
    """The first column of every table in docs/rules.md whose header starts with `| View |`
    (``rule_sql_<n>`` for the config's ``sql:`` rule, ``smart_album_sql_<n>`` for its ``sql:`` smart album)."""
    names: list[str] = []
    for table in re.findall(r"^\| View \|.*?\n((?:\|.*\n)+)", RULES_DOC, flags=re.M):
        for line in table.splitlines()[1:]:  # the first is the |---| line
            first = line.split("|")[1]
            for n in re.findall(r"`([\w<>]+)`", first):
                names.append(n.replace("<n>", str(sql_smart if n.startswith("smart_") else sql_rule)))
    return names


def documented_queries() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", QUERIES_DOC + RULES_DOC, flags=re.S | re.I)
    return [s.strip() for block in blocks for s in block.split(";") if s.strip()]


def config(tmp: Path) -> Path:
    raw = yaml.safe_load(demo_config_text())
    raw["rules"] = [*DEFAULT_RULES, SQL_RULE]
    raw["smart_albums"] = [*raw["smart_albums"], SQL_SMART_ALBUM]
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    path.chmod(0o600)
    return path


def change_on_server(library: FakeLibrary) -> None:
    """What a user does in the web UI between two runs: a new dated album, an asset moved into it."""
    owner = library.owner_id
    own = sorted(a for a, asset in library.assets.items() if asset.owner_id == owner)
    library.create_album("2021-08-15 Lake", asset_ids=own[:3])


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("plain")
    cfg_path = config(tmp)
    library = generate_library(300, seed=7)
    session = fake_session(library, tmp / "mirror.db", cfg=parse_config(yaml.safe_load(cfg_path.read_text())))
    ops.run(session)
    change_on_server(library)
    ops.sync(session)  # no classify after it: the views must be as of this sync
    session.close()
    yield tmp / "mirror.db", cfg_path


def plain_rows(db: Path, query: str) -> list[Row]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # no function registered
    try:
        cur = con.execute(query)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def autotag_json(db: Path, cfg: Path, query: str, capsys: pytest.CaptureFixture[str]) -> list[Row]:
    capsys.readouterr()
    code = cli(["--db", str(db), "--config", str(cfg), "sql", query, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def canonical(rows: list[Row]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_every_documented_view_and_query_reads_without_autotag(
    mirror: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, cfg = mirror
    views = documented_views()
    assert {"classification", "plan", "date_fixes", "album_date_albums", "rule_sql_5", "smart_album_sql_1",
            "smart_albums_plan"} <= set(views)
    present = {r["name"] for r in plain_rows(db, "SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert set(views) <= present, "documented but missing"
    # As of the last sync, before any `autotag sql` refreshed anything.
    before = {v: plain_rows(db, f'SELECT * FROM "{v}"') for v in COMPARED}
    for view in sorted(present):
        plain_rows(db, f'SELECT * FROM "{view}"')
    queries = documented_queries()
    assert len(queries) >= 18
    empty = [q for q in queries if not plain_rows(db, q)]
    assert len(empty) <= 4, empty  # a realistic library has rows for nearly all of them
    # The new album of the last sync counts without a classify.
    lake = plain_rows(db, "SELECT id FROM albums WHERE name = '2021-08-15 Lake'")[0]["id"]
    assert any(lake in (r["matched_albums"] or "") for r in before["classification"])
    for view in COMPARED:
        ours = autotag_json(db, cfg, f'SELECT * FROM "{view}"', capsys)
        assert canonical(before[view]) == canonical(ours), view
        assert canonical(plain_rows(db, f'SELECT * FROM "{view}"')) == canonical(ours), view
    statuses = {r["status"] for r in before["classification"]}
    assert statuses == {"classified", "unclassified", "conflict"} and before["plan"]


# ---------------------------------------------------------------------------------------- Datasette
def datasette_command() -> list[str]:
    """The command docs/queries.md shows, run from this environment."""
    found = re.search(r"```sh\n(datasette [^\n]*)\n", QUERIES_DOC)
    assert found, "docs/queries.md shows no `datasette ...` command"
    return shlex.split(found[1])


def saved_query_url() -> str:
    found = re.search(r"(http://127\.0\.0\.1:8001/mirror\?sql=\S+)", QUERIES_DOC)
    assert found, "docs/queries.md shows no saved query URL"
    return found[1]


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def datasette(mirror: tuple[Path, Path]) -> Iterator[str]:
    db, _cfg = mirror
    port = free_port()
    argv = datasette_command()
    assert argv[:2] == ["datasette", "mirror.db"], argv
    # Datasette's own default limits (1000 rows, 1 s per query) are for the web page, not this comparison.
    cmd = [sys.executable, "-m", "datasette", "serve", str(db), *argv[2:], "--port", str(port),
           "--setting", "max_returned_rows", "5000", "--setting", "sql_time_limit_ms", "60000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/-/versions.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "datasette exited"
            assert time.monotonic() < deadline, "datasette did not start"
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def datasette_rows(base: str, path: str) -> list[Row]:
    """Every row of ``path`` (a view or a query) as JSON objects, following Datasette's pages."""
    rows: list[Row] = []
    url: str | None = f"{base}{path}"
    while url:
        answer = httpx.get(url, params=None, timeout=120)
        assert answer.status_code == 200, (url, answer.text[:500])
        body = answer.json()
        assert body.get("ok", True), body
        rows += body["rows"]
        url = body.get("next_url")
    return rows


def test_datasette_serves_every_view_as_autotag_sql_reads_it(
    mirror: tuple[Path, Path], datasette: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db, cfg = mirror
    for view in documented_views():
        datasette_rows(datasette, f"/mirror/{view}.json?_shape=objects&_size=max")
    for view in COMPARED:
        served = datasette_rows(datasette, f"/mirror/{view}.json?_shape=objects&_size=max")
        ours = autotag_json(db, cfg, f'SELECT * FROM "{view}"', capsys)
        assert ours and canonical(served) == canonical(ours), view
    url = urlsplit(saved_query_url())
    saved = datasette_rows(datasette, f"{url.path}.json?{url.query}&_shape=objects")
    query = parse_qs(url.query)["sql"][0]
    assert saved and canonical(saved) == canonical(plain_rows(db, query))
