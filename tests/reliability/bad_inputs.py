"""Every bad input tried against the CLI, and the one line each one gets (docs/errors.md is this table).

A case prepares the bad input in a temporary directory (and, for a few, patches what cannot be made for
real when the tests run as root: an unreadable file, a read-only directory, a full disk) and returns the
command line. ``run_case`` runs ``autotag.cli.main`` in this process and returns the exit code and the
stderr line with the variable parts (temporary paths, ports) replaced by placeholders, which is what the
doc shows. ``python -m tests.reliability.bad_inputs`` prints the doc's table rows.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autotag.cli import main
from immich_mirror.db import engine as db_engine
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.app import create_app
from immich_mirror.fake.faults import FaultMiddleware, FaultPlan
from immich_mirror.fake.library import FakeLibrary
from tests.reliability.servers import Override, RequestLog, self_signed_cert, serve

KEY = "reliability-key-7Qx2"
READ_ONLY_KEY = "read-only-key-9Wm4"
ENV_NAMES = ("IMMICH_URL", "IMMICH_INSTANCE_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB", "AUTOTAG_DEBUG")


@dataclass
class Servers:
    """Base URLs of the servers the network cases talk to."""

    fake: str  # the fake Immich, plain HTTP
    tls: str  # the same over HTTPS with a self-signed certificate
    v1: str  # answers /server/version with 1.118.2
    html: str  # a reverse proxy's login page on every path
    odd_json: str  # valid JSON of the wrong shape for /users/me
    refused: str  # nothing listens there
    dropped: str  # plain HTTP that closes every connection without an answer
    library: FakeLibrary  # what the fake server holds
    log: RequestLog  # every request the plain fake server (``fake``) saw


def small_library(seed: int = 5) -> FakeLibrary:
    """Twenty assets, two albums, one input tag: enough for every command, few requests."""
    lib = FakeLibrary(seed=seed)
    ids = [lib.add_asset(f"IMG_20190412_1530{i:02d}.jpg").id for i in range(20)]
    lib.create_album("2019-06-01 Beach", asset_ids=ids[:4])
    lib.create_album("Best of", asset_ids=ids[4:8])
    meme = lib.create_tag("autotag_input_meme")
    lib.tag_assets([meme.id], ids[8:10])
    return lib


@contextmanager
def running_servers(tmp: Path) -> Iterator[Servers]:
    library = small_library()
    library.add_api_key(library.owner_id, secret=KEY, name="reliability")
    library.add_api_key(
        library.owner_id,
        secret=READ_ONLY_KEY,
        permissions=["user.read", "asset.read", "asset.statistics", "album.read", "tag.read"],
    )
    app = create_app(library, version="3.1.0")
    cert = self_signed_cert(tmp)
    v1 = Override(app, {("GET", "/api/server/version"): (200, {"major": 1, "minor": 118, "patch": 2},
                                                          "application/json")})
    odd = Override(app, {("GET", "/api/users/me"): (200, [{"id": "x"}], "application/json")})
    html = FaultMiddleware(app, FaultPlan.parse("html:1"))
    dropped = FaultMiddleware(app, FaultPlan.parse("drop-before:1"))
    log = RequestLog(app)
    with ExitStack() as stack:
        ports = [stack.enter_context(serve(a)) for a in (log, v1, html, odd, dropped)]
        tls_port = stack.enter_context(serve(app, tls=cert))
        with contextlib.closing(db_engine_socket()) as free:
            refused = free.getsockname()[1]
        yield Servers(
            fake=f"http://127.0.0.1:{ports[0]}",
            tls=f"https://127.0.0.1:{tls_port}",
            v1=f"http://127.0.0.1:{ports[1]}",
            html=f"http://127.0.0.1:{ports[2]}",
            odd_json=f"http://127.0.0.1:{ports[3]}",
            refused=f"http://127.0.0.1:{refused}",
            dropped=f"http://127.0.0.1:{ports[4]}",
            library=library,
            log=log,
        )


def db_engine_socket() -> Any:
    from immich_mirror.fake.runner import bind_socket

    return bind_socket()


@dataclass
class Ctx:
    tmp: Path
    mp: pytest.MonkeyPatch
    servers: Servers

    def config(self, text: str) -> str:
        path = self.tmp / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    def db(self) -> str:
        return str(self.tmp / "mirror.db")

    def server(self, url: str, key: str = KEY) -> None:
        self.mp.setenv("IMMICH_URL", url)
        self.mp.setenv("IMMICH_API_KEY", key)


@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the bad input, as the doc says it
    command: str  # the command as the doc shows it
    setup: Callable[[Ctx], list[str]]


def _not_utf8(c: Ctx) -> list[str]:
    (c.tmp / "config.yaml").write_bytes(b"immich:\n  url: \xff\xfe\n")
    return ["--config", str(c.tmp / "config.yaml"), "status"]


def _unreadable(c: Ctx) -> list[str]:
    path = c.config("immich: {}\n")
    real = Path.read_text

    def read_text(self: Path, *a: Any, **kw: Any) -> str:
        if str(self) == path:
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **kw)

    # Root reads any file whatever its mode, so the refusal is simulated.
    c.mp.setattr(Path, "read_text", read_text)
    return ["--config", path, "status"]


def _too_new(c: Ctx) -> list[str]:
    open_db(Path(c.db())).dispose()
    with contextlib.closing(sqlite3.connect(c.db())) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
    return ["--db", c.db(), "status"]


def _read_only_dir(c: Ctx) -> list[str]:
    target = c.tmp / "ro"
    target.mkdir()
    real = os.access

    def access(path: Any, mode: int, *a: Any, **kw: Any) -> bool:
        if Path(path) == target and mode & os.W_OK:
            return False
        return real(path, mode, *a, **kw)

    # Root may write anywhere, so the read-only directory is simulated where the tool asks about it.
    c.mp.setattr(db_engine.os, "access", access)
    return ["--db", str(target / "mirror.db"), "classify", "--dry-run"]


def _full_disk(c: Ctx) -> list[str]:
    open_db(Path(c.db())).dispose()
    real = db_engine.register_functions

    def register(dbapi_conn: sqlite3.Connection) -> None:
        real(dbapi_conn)
        # SQLite's own "database or disk is full" once the file would grow past its current size + a little.
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    c.mp.setattr(db_engine, "register_functions", register)
    c.server(c.servers.fake)
    return ["--db", c.db(), "sync"]


def _interrupted_migration(c: Ctx) -> list[str]:
    from immich_mirror.db import migrate

    real = migrate.command.upgrade

    def upgrade(cfg: Any, rev: str) -> None:
        real(cfg, rev)  # every table is created ... then the machine loses power before the commit
        raise sqlite3.OperationalError("disk I/O error")

    c.mp.setattr(migrate.command, "upgrade", upgrade)
    return ["--db", c.db(), "classify", "--dry-run"]


def _foreign(c: Ctx) -> list[str]:
    with contextlib.closing(sqlite3.connect(c.db())) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("CREATE TABLE tags (note_id INTEGER, tag TEXT)")
        conn.commit()
    return ["--db", c.db(), "status"]


def _unversioned(c: Ctx) -> list[str]:
    open_db(Path(c.db())).dispose()
    with contextlib.closing(sqlite3.connect(c.db())) as conn:
        conn.execute("DROP TABLE alembic_version")
        conn.commit()
    return ["--db", c.db(), "classify", "--dry-run"]


def _sql(c: Ctx, query: str) -> list[str]:
    open_db(Path(c.db())).dispose()
    return ["--db", c.db(), "sql", query]


def _history(c: Ctx, *, unfinished: bool = False) -> None:
    """A mirror whose run 1 changed a tag and whose run 2 undid it (still sending, if ``unfinished``)."""
    open_db(Path(c.db())).dispose()
    with contextlib.closing(sqlite3.connect(c.db())) as conn:
        at = "2026-01-01T00:00:00.000Z"
        conn.execute("INSERT INTO runs(id, command, started_at, status) VALUES (1, 'run', ?, 'ok')", (at,))
        conn.execute("INSERT INTO changes(run_id, at, asset_id, kind, target, before, after) "
                     "VALUES (1, ?, 'a1', 'tag_add', 'autotag_output_unknown', 'false', 'true')", (at,))
        conn.execute("INSERT INTO runs(id, command, started_at, status, undo_of) VALUES (2, 'undo', ?, ?, 1)",
                     (at, "interrupted" if unfinished else "ok"))
        state = "pending" if unfinished else "sent"
        conn.execute("INSERT INTO outbox(run_id, kind, target, asset_id, idem_key, state, attempts, created_at, "
                     "updated_at) VALUES (2, 'tag_remove', 'autotag_output_unknown', 'a1', 'k', ?, 0, ?, ?)",
                     (state, at, at))
        if not unfinished:
            conn.execute("INSERT INTO changes(run_id, at, asset_id, kind, target, before, after) "
                         "VALUES (2, ?, 'a1', 'tag_remove', 'autotag_output_unknown', 'true', 'false')", (at,))
        conn.commit()


def _config_case(case_id: str, what: str, text: str, *, classify: bool = False) -> Case:
    """A bad config file holding ``text``: read by ``status``, or by ``classify --dry-run`` (which compiles
    the rules against a mirror)."""
    if classify:
        return Case(case_id, what, "autotag --config c.yaml classify --dry-run",
                    lambda c: ["--config", c.config(text), "--db", c.db(), "classify", "--dry-run"])
    return Case(case_id, what, "autotag --config c.yaml status", lambda c: ["--config", c.config(text), "status"])


def _server_case(
    case_id: str, what: str, command: str, url: Callable[[Servers], str], *, key: str = KEY, verb: str = "sync"
) -> Case:
    """``autotag <verb>`` with IMMICH_URL set to ``url(servers)`` and IMMICH_API_KEY to ``key``."""
    def setup(c: Ctx) -> list[str]:
        c.server(url(c.servers), key)
        return ["--db", c.db(), verb]

    return Case(case_id, what, command, setup)


def _undo(c: Ctx, *args: str, unfinished: bool = False) -> list[str]:
    _history(c, unfinished=unfinished)
    return ["--db", c.db(), "undo", *args]


CASES: list[Case] = [
    # ---- the config file
    Case("config-missing", "a named config file that does not exist", "autotag --config nope.yaml status",
         lambda c: ["--config", str(c.tmp / "nope.yaml"), "status"]),
    Case("config-directory", "the config path is a directory", "autotag --config DIR status",
         lambda c: ["--config", str(c.tmp), "status"]),
    Case("config-unreadable", "a config file the user may not read", "autotag --config c.yaml status",
         _unreadable),
    Case("config-not-utf8", "a config file that is not UTF-8 text", "autotag --config c.yaml status", _not_utf8),
    _config_case("config-invalid-yaml", "invalid YAML", "immich:\n  url: [unclosed\n"),
    _config_case("config-not-mapping", "YAML that is a list, not a mapping", "- immich\n- rules\n"),
    _config_case("config-unknown-key", "an unknown key (typo)", "immich:\n  urll: http://x\n"),
    _config_case("config-unknown-section", "an unknown top-level section", "marker:\n  unclassified: x\n"),
    _config_case("config-wrong-type", "a wrong type (`timeout: soon`)", "immich:\n  timeout: soon\n"),
    _config_case("config-out-of-range", "a value out of range (`chunk_size: 0`)", "push:\n  chunk_size: 0\n"),
    _config_case("config-section-not-mapping", "a section that is a string", "immich: http://photos\n"),
    _config_case("config-same-markers", "the same tag for both markers",
                 "markers:\n  unclassified: x\n  conflict: x\n"),
    _config_case("config-empty-rules", "`rules: []`", "rules: []\n"),
    _config_case("rule-unknown-key", "an unknown key in a rule", "rules:\n  - name: r\n    tag: x\n"),
    _config_case("rule-bad-regex", "a rule with an invalid regex",
                 "rules:\n  - name: broken\n    album_name_regex: ['^(']\n", classify=True),
    _config_case("rule-bad-sql", "a rule with an SQL predicate that does not compile",
                 "rules:\n  - name: bad_sql\n    sql: \"no_such_column = 1\"\n", classify=True),
    _config_case("rule-sql-two-statements", "an SQL predicate that tries a second statement",
                 "rules:\n  - name: sneaky\n    sql: \"1); DROP TABLE assets; --\"\n", classify=True),
    _config_case("rule-duplicate-name", "two rules with one name",
                 "rules:\n  - {name: a, tags: x}\n  - {name: a, tags: y}\n"),
    _config_case("rule-matches-marker", "a rule on the marker tag itself",
                 "rules:\n  - {name: loop, tags: autotag_output_unknown}\n"),
    Case("no-url", "no server URL anywhere", "autotag sync", lambda c: ["--db", c.db(), "sync"]),
    Case("no-key", "a URL but no API key", "IMMICH_URL=... autotag sync",
         lambda c: (c.mp.setenv("IMMICH_URL", c.servers.fake), ["--db", c.db(), "sync"])[1]),
    # ---- the server
    _server_case("unreachable-host", "a host name that does not resolve",
                 "IMMICH_URL=http://immich.invalid autotag sync", lambda _s: "http://immich.invalid:2283"),
    _server_case("wrong-port", "a port where nothing listens", "autotag sync", lambda s: s.refused),
    _server_case("tls-untrusted", "HTTPS with a self-signed certificate", "IMMICH_URL=https://... autotag sync",
                 lambda s: s.tls),
    _server_case("http-to-https-port", "http:// to a port that speaks HTTPS", "IMMICH_URL=http://... autotag sync",
                 lambda s: s.tls.replace("https://", "http://")),
    _server_case("https-to-http-port", "https:// to a port that speaks plain HTTP",
                 "IMMICH_URL=https://... autotag sync", lambda s: s.fake.replace("http://", "https://")),
    _server_case("connection-dropped", "a plain-HTTP server that closes the connection (no https hint)",
                 "autotag sync", lambda s: s.dropped),
    _server_case("wrong-key", "a wrong API key", "autotag sync", lambda s: s.fake, key="not-a-key-of-this-server"),
    _server_case("key-lacks-permission", "a read-only key (no tag.create) for a run", "autotag run",
                 lambda s: s.fake, key=READ_ONLY_KEY, verb="run"),
    _server_case("server-v1", "Immich 1.118 (too old)", "autotag sync", lambda s: s.v1),
    _server_case("server-html", "a reverse proxy's HTML login page instead of the API", "autotag sync",
                 lambda s: s.html),
    _server_case("server-odd-json", "JSON of the wrong shape (`/users/me` answers a list)", "autotag sync",
                 lambda s: s.odd_json),
    # ---- the mirror database
    Case("db-corrupt", "a DB file that is not SQLite", "autotag --db garbage.db status",
         lambda c: ((c.tmp / "mirror.db").write_bytes(b"garbage" * 100), ["--db", c.db(), "status"])[1]),
    Case("db-truncated", "an SQLite file cut short", "autotag --db cut.db status", lambda c: _truncated(c)),
    Case("db-directory", "the DB path is a directory", "autotag --db DIR status",
         lambda c: ["--db", str(c.tmp), "status"]),
    Case("db-too-new", "a DB written by a newer autotag", "autotag status", _too_new),
    Case("db-read-only-dir", "a read-only DB directory", "autotag --db /ro/mirror.db classify --dry-run",
         _read_only_dir),
    Case("db-disk-full", "the disk fills up during a sync", "autotag sync", _full_disk),
    Case("db-migration-interrupted", "a migration that fails before its commit", "autotag classify --dry-run",
         _interrupted_migration),
    Case("db-foreign", "another application's SQLite file", "autotag --db other.db status", _foreign),
    Case("db-unversioned", "mirror tables without `alembic_version`", "autotag classify --dry-run", _unversioned),
    # ---- sql is read-only
    Case("sql-attach", "`ATTACH` (it would create the file)", "autotag sql \"ATTACH DATABASE 'x.db' AS x\"",
         lambda c: _sql(c, f"ATTACH DATABASE '{c.tmp}/x.db' AS x")),
    Case("sql-writable-pragma", "a pragma that changes something", "autotag sql \"PRAGMA writable_schema=1\"",
         lambda c: _sql(c, "PRAGMA writable_schema=1")),
    Case("sql-write", "a statement that writes", "autotag sql \"DELETE FROM assets\"",
         lambda c: _sql(c, "DELETE FROM assets")),
    Case("sql-side-effect-function", "a function with effects outside the query",
         "autotag sql \"SELECT load_extension('x')\"", lambda c: _sql(c, "SELECT load_extension('x')")),
    # ---- undo
    Case("undo-unknown-run", "a run id that does not exist", "autotag undo --run 99",
         lambda c: _undo(c, "--run", "99")),
    Case("undo-already-undone", "a run an undo already reverted", "autotag undo --run 1",
         lambda c: _undo(c, "--run", "1")),
    Case("undo-all-undone", "plain `undo` when every run was undone", "autotag undo", lambda c: _undo(c)),
    Case("undo-unfinished", "plain `undo` while an earlier undo is half sent", "autotag undo",
         lambda c: _undo(c, unfinished=True)),
    # ---- review
    Case("review-no-mirror", "`review` before any sync", "autotag --db never.db review",
         lambda c: ["--db", str(c.tmp / "never.db"), "review"]),
]


def _truncated(c: Ctx) -> list[str]:
    open_db(Path(c.db())).dispose()
    data = (c.tmp / "mirror.db").read_bytes()
    (c.tmp / "mirror.db").write_bytes(data[: len(data) // 3])
    return ["--db", c.db(), "status"]


def normalise(text: str, ctx: Ctx) -> str:
    s = ctx.servers
    out = text.replace(str(ctx.tmp), "<tmp>")
    for name in ("fake", "tls", "v1", "html", "odd_json", "refused", "dropped"):
        url: str = getattr(s, name)
        out = out.replace(url, "<url>").replace(url.replace("https://", "http://"), "<url>")
        out = out.replace(url.replace("http://", "https://"), "<url>")
    return out


def run_case(
    case: Case, tmp: Path, servers: Servers, mp: pytest.MonkeyPatch, extra: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """(exit code, normalised stderr, raw stdout+stderr) of ``autotag <case>`` run in this process."""
    for name in ENV_NAMES:
        mp.delenv(name, raising=False)
    mp.setenv("XDG_CONFIG_HOME", str(tmp / "xdg-config"))
    mp.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
    ctx = Ctx(tmp, mp, servers)
    argv = [*extra, *case.setup(ctx)]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, normalise(err.getvalue().strip(), ctx), out.getvalue() + err.getvalue()


DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def doc_rows() -> dict[str, tuple[str, int, str]]:
    """case id -> (command, exit code, message) from the table in docs/errors.md."""
    rows: dict[str, tuple[str, int, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `") or line.count("|") < 6:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        case_id, _what, command, code, message = cells[0].strip("`"), cells[1], cells[2], cells[3], cells[4]
        rows[case_id] = (command.strip("`"), int(code), message.replace("\\|", "|"))
    return rows


def table_row(case: Case, code: int, message: str) -> str:
    return f"| `{case.id}` | {case.what} | `{case.command}` | {code} | {message.replace('|', chr(92) + '|')} |"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as top, running_servers(Path(top)) as srv:
        for i, case in enumerate(CASES):
            tmp = Path(top) / f"case{i}"
            tmp.mkdir()
            with pytest.MonkeyPatch.context() as patch:
                code, message, _raw = run_case(case, tmp, srv, patch)
            print(table_row(case, code, message))
