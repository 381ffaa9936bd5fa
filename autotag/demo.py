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


def _smart_album_edits(db: Path) -> tuple[str | None, str | None]:
    """Two tag edits a user makes in the web UI that the smart album follows: a sorted photo tagged a
    place (it joins the album), and a photo of the album, sorted otherwise too, untagged (it leaves)."""
    engine = open_db(db)
    try:
        with engine.connect() as conn:
            join = conn.exec_driver_sql(
                "SELECT asset_id FROM classification WHERE status = 'classified' AND asset_id NOT IN "
                "(SELECT asset_id FROM smart_album_matches_all) ORDER BY asset_id LIMIT 1"
            ).scalar()
            leave = conn.exec_driver_sql(
                "SELECT c.asset_id FROM classification AS c WHERE c.status = 'classified' "
                "AND c.matched_rules LIKE '%,%' AND c.asset_id IN (SELECT asset_id FROM smart_album_matches_all) "
                "AND c.asset_id NOT IN (SELECT asset_id FROM smart_album_matches_all WHERE album_id IS NOT NULL) "
                "ORDER BY c.asset_id LIMIT 1"
            ).scalar()
    finally:
        engine.dispose()
    return (None if join is None else str(join)), (None if leave is None else str(leave))


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


SMART_ALBUM = "Best of places"
PLACES_TAG = "places"


def demo_config_text() -> str:
    """The starter config with every organiser feature switched on, so the dry run shows each, a people
    rule, a compilation rule and a smart album (which the compilation counts)."""
    text = starter_config_text().replace("enabled: false", "enabled: true")
    # A people rule: a photo of Alice or Bob that is also tagged a meme becomes a conflict for review;
    # a compilation: photos in a "Best of ..." album are sorted, and never a conflict for it.
    text = text.replace(
        "  # - {name: family, people: [Alice, Bob]}",
        "  - {name: family, people: [Alice, Bob]}\n"
        "  - {name: best_of, album_name_regex: ['^Best of '], exclusive: false}",
    )
    text = text.replace(
        "smart_albums: []\n",
        f"smart_albums:\n  - {{album: {SMART_ALBUM}, tags: [{PLACES_TAG}], include_descendants: true}}\n",
    )
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
    count = len(on) + bool(cfg.smart_albums)
    lines = [f"this demo turns on {count} organiser feature(s), each off until enabled in your own config:"]
    lines += [f"  {name}: {FEATURES[name]}" for name in on]
    lines += [f"  smart_albums: the album '{s.album}' holds exactly the photos its rule matches (created, "
              "then kept equal: added and removed)" for s in cfg.smart_albums]
    lines += [f"  rule {r.name}: " + ("a compilation (exclusive: false): classifies, never a conflict"
                                     if not r.exclusive else "the people " + " and ".join(r.people))
              for r in cfg.rules if r.people or not r.exclusive]
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
        joins, leaves = _smart_album_edits(db)
        if fix:
            asset_id, album_id = fix
            library.add_to_album(album_id, [asset_id])
            print(f"\n# in the web UI, the user adds {url}/photos/{asset_id} to a date album")
        place = next((t for t in library.tags.values() if t.value.startswith(PLACES_TAG + "/")), None)
        if place and joins:
            library.tag_assets([place.id], [joins])
            print(f"# ... tags {url}/photos/{joins} {place.value}: it joins the smart album '{SMART_ALBUM}'")
        if leaves:
            below = [t.id for t in library.tags.values() if t.value.startswith(PLACES_TAG + "/")]
            library.untag_assets(below, [leaves])
            print(f"# ... takes the place tags off {url}/photos/{leaves}: it leaves the smart album")
        title = "the marker of the fixed asset is removed; the smart album follows the tags"
        if (fix or joins or leaves) and _step(title, ["run"]) != 0:
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
