"""``make demo``: the whole loop against the bundled fake Immich server with a generated library.

Starts the fake server on a free loopback port, points the real CLI at it through the environment
(the same way a user would), and runs: doctor, sync, classify --dry-run, run, a fix made "in the web
UI", run again, report, undo (shown, not applied), and ends with the command that shows the plan as
photos. ``--review`` instead syncs the same library and serves ``autotag review`` on it until Ctrl-C.
It says first which organiser features it turns on.
Nothing outside a temporary directory is touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

from autotag.cli import main as cli
from autotag.config import AutotagConfig, parse_config, starter_config_text
from immich_mirror.db.migrate import open_db
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server
from immich_mirror.fake.state import SUPPORTED_VERSIONS

COUNTS = "SELECT status, COUNT(*) AS assets FROM classification GROUP BY status"


def _step(title: str, argv: list[str]) -> int:
    print(f"\n$ autotag {' '.join(argv)}    # {title}", flush=True)
    code = cli(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _unclassified_asset_to_fix(db: Path) -> tuple[str, str] | None:
    """An unclassified asset and a date-named album to put it in: the fix a user makes in the web UI."""
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            asset = conn.exec_driver_sql("SELECT asset_id FROM unclassified ORDER BY asset_id LIMIT 1").first()
            album = conn.exec_driver_sql(
                "SELECT id FROM albums WHERE is_owned = 1 AND name GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]*' "
                "ORDER BY name LIMIT 1"
            ).first()
    finally:
        engine.dispose()
    return (asset[0], album[0]) if asset and album else None


def demo_config_text() -> str:
    """The starter config with every organiser feature switched on, so the dry run shows each."""
    text = starter_config_text().replace("enabled: false", "enabled: true")
    # A people rule: a photo of Alice or Bob that is also tagged a meme becomes a conflict for review.
    text = text.replace("  # - {name: family, people: [Alice, Bob]}", "  - {name: family, people: [Alice, Bob]}")
    return text.replace(
        "  rules: []\n  # - {tag: people/alice, album: Alice, direction: both}",
        "  rules:\n    - {tag: people/alice, album: Alice, direction: to_album}",
    )


# What each organiser feature does, as the demo announces it (the README says each is off until enabled).
FEATURES = {
    "duplicates": "duplicate groups: an unclassified photo gets the album or tag of its classified twin; "
    "groups classified two ways are flagged",
    "dates": "date repair: dates read from file names, dated folders and duplicates",
    "album_dates": "album dates: photos far from the date their album's name starts with are flagged",
    "folder_albums": "albums from folders: a photo in the folder '2019-06-01 Beach' of an external library "
    "goes to that album (created when missing)",
    "tag_albums": "tag-album rules: photos tagged people/alice go to the album 'Alice'",
}


def announce(cfg: AutotagConfig) -> list[str]:
    """What the demo's config turns on, feature by feature, and what happens when features disagree."""
    on = [name for name in FEATURES if getattr(cfg, name).enabled]
    lines = [f"this demo turns on {len(on)} organiser feature(s), each off until enabled in your own config:"]
    lines += [f"  {name}: {FEATURES[name]}" for name in on]
    lines.append(
        "features only propose albums and tags: an unclassified photo gets at most one; when they disagree "
        f"it gets none, and the tag {cfg.markers.review} says what each proposed (docs/rules.md)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-version", default="3.1.0", choices=SUPPORTED_VERSIONS)
    parser.add_argument("--review", action="store_true", help="serve `autotag review` on the demo library")
    parser.add_argument("--open", action="store_true", help="with --review: open the page in a browser")
    args = parser.parse_args(argv)

    library = generate_library(args.assets, seed=args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="autotag-demo-") as tmp,
        running_fake_server(library, version=args.server_version) as (url, key),
    ):
        db = Path(tmp) / "mirror.db"
        config = Path(tmp) / "config.yaml"
        config.write_text(demo_config_text(), encoding="utf-8")  # never the user's own config
        config.chmod(0o600)
        os.environ.update(
            {"IMMICH_URL": url, "IMMICH_API_KEY": key, "AUTOTAG_DB": str(db), "AUTOTAG_CONFIG": str(config)}
        )
        print(f"fake Immich {args.server_version} at {url} with {args.assets} generated assets")
        for line in announce(parse_config(yaml.safe_load(demo_config_text()))):
            print(line)
        if args.review:
            if _step("mirror the library into SQLite", ["sync"]) != 0:
                return 1
            return _step("the plan as photos (Ctrl-C to stop)", ["review", *(["--open"] if args.open else [])])
        steps = [
            ("check the setup", ["doctor"]),
            ("mirror the library into SQLite", ["sync"]),
            ("classification counts before the tool changes anything", ["sql", COUNTS]),
            ("what would change, and which feature planned it", ["classify", "--dry-run", "--limit", "12"]),
            ("sync + classify + push", ["run"]),
            ("nothing left to do", ["run"]),
        ]
        for title, step in steps:
            if _step(title, step) != 0:
                return 1
        fix = _unclassified_asset_to_fix(db)
        if fix:
            asset_id, album_id = fix
            library.add_to_album(album_id, [asset_id])
            print(f"\n# in the web UI, the user adds {url}/photos/{asset_id} to a date album")
            if _step("the marker of the fixed asset is removed", ["run"]) != 0:
                return 1
        _step("classification counts after the runs", ["sql", COUNTS])
        _step("modification report", ["report", str(Path(tmp) / "report")])
        print((Path(tmp) / "report" / "summary.txt").read_text())
        _step("what undo would revert", ["undo"])
    print("\n# see a plan as photos, approve or reject each change, then apply:")
    print("$ autotag review --open    # on your own server (after `autotag sync`)")
    print("$ make demo-review         # on this demo library: serves the page until Ctrl-C")
    return 0


if __name__ == "__main__":
    sys.exit(main())
