"""`python -m immich_mirror.fake`: serve a fake Immich on a port, for the demo and manual tests.

Prints one line, `fake Immich <version> at <url> api-key <key>`, once the port is bound (port 0
picks a free one), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.runner import NoDelayH11Protocol, bind_socket, build_app, default_key
from immich_mirror.fake.state import SUPPORTED_VERSIONS
from immich_mirror.fake.statefile import read_state

DEFAULT_VERSION = "3.1.0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m immich_mirror.fake", description=__doc__)
    parser.add_argument("--port", type=int, default=2283, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--assets", type=int, default=0, help="generate a library of N assets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state", help="load the library from this JSON state file")
    parser.add_argument("--api-key", help="accept this key (all permissions) besides the library's own")
    parser.add_argument("--server-version", default=None, choices=SUPPORTED_VERSIONS,
                        help="the Immich version to answer as (default: the state file's, else 3.1.0)")
    parser.add_argument("--lost-writes", type=float, default=None, metavar="RATE",
                        help="probability that a quick second tag write to an asset is undone")
    parser.add_argument("--lost-writes-window", type=float, default=None, metavar="MS")
    parser.add_argument("--jobs", choices=("immediate", "manual", "async"), default=None)
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="e.g. '503:0.1@/api/search/*,latency:1:0.05' (see faults.py)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> tuple[FakeLibrary, FaultPlan | None]:
    faults: FaultPlan | None = None
    if args.state:
        library, faults = read_state(args.state)
    elif args.assets:
        library = generate_library(args.assets, args.seed, version=args.server_version or DEFAULT_VERSION)
    else:
        library = FakeLibrary(version=args.server_version or DEFAULT_VERSION, seed=args.seed)
    if args.server_version:  # named on the command line: it wins over the state file's
        library.version = args.server_version
    if args.lost_writes is not None:
        library.lost_writes_rate = args.lost_writes
    if args.lost_writes_window is not None:
        library.lost_writes_window_ms = args.lost_writes_window
    if args.jobs:
        library.jobs_mode = args.jobs
    if args.faults:
        faults = FaultPlan.parse(args.faults, seed=args.seed)
    if args.api_key and args.api_key not in library.api_keys:
        library.add_api_key(library.owner_id, secret=args.api_key, name="cli")
    return library, faults


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        library, faults = build(args)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    version = library.version
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    key = args.api_key or default_key(library)
    print(f"fake Immich {version} at http://{host}:{port} api-key {key}", flush=True)
    config = uvicorn.Config(build_app(library, version, faults), log_level="warning", lifespan="off",
                            http=NoDelayH11Protocol, date_header=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
