"""What one `autotag sql` read costs on a big mirror, now that it installs the rule views only when stale.

    python -m bench.sql_read --assets 100000

Builds a synthetic mirror (bench/million.py), installs the default rules (``--features``: the demo's
config, every organiser feature on) once (as a classify does), then
times, best of ``--repeat``: the read as it is (the installed views are current: one fingerprint check,
then the query), and the read as it was (the rules installed again before every query).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml

from autotag.config import AutotagConfig, parse_config
from autotag.demo import demo_config_text
from autotag.plan import install_rules
from autotag.report import run_sql
from autotag.session import Session
from bench.million import build_mirror
from bench.timing import best

QUERY = "SELECT status, count(*) FROM classification GROUP BY status"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--features", action="store_true", help="every organiser feature on (the demo's config)")
    args = parser.parse_args(argv)
    cfg = parse_config(yaml.safe_load(demo_config_text())) if args.features else AutotagConfig()
    with tempfile.TemporaryDirectory(prefix="bench-sql-") as tmp:
        db = Path(tmp) / "mirror.db"
        build_mirror(db, args.assets)
        session = Session(cfg=cfg, db_path=db)
        install_rules(session.engine, session.cfg)
        now = best(args.repeat, lambda: run_sql(session, QUERY))

        def before() -> None:
            install_rules(session.engine, session.cfg)
            run_sql(session, QUERY)

        was = best(args.repeat, before)
        session.close()
    rules = "every organiser feature on" if args.features else "default rules"
    print(f"autotag sql, {args.assets} assets, {rules}: {QUERY}")
    print(f"  views current (no install, writes nothing)   {now:6.2f} s")
    print(f"  install before every read (before)           {was:6.2f} s  ({was / now:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
