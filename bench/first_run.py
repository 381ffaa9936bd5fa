"""What a person sees during a big first run: ``autotag run`` on a pseudo-terminal against a slow fake.

    python -m bench.first_run [--assets 20000] [--admin] [--write-latency 2] [--job-delay 5]

The fake has 20,000 assets, slow background jobs (``--job-delay`` seconds before its queues drain),
lost writes on, and tag writes that take ``--write-latency`` seconds each (a real v3.1.0 server took
about 7 s per request of 1000 assets). The capture is read back as the screen showed it: the figure
that matters is the longest time the progress numbers stood still (counts, jobs queued, seconds left).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from pathlib import Path

from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server
from tests.terminal import Capture, run_autotag

# What moves on the screen: a count (1000/13500), the jobs still queued, the seconds left of a wait.
_STATE = re.compile(rb"\d+/\d+ \w+|\(\d+ jobs queued|\(about \d+ s\)")
_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


def stills(capture: Capture) -> tuple[float, float]:
    """(longest time the progress numbers did not change once the first one showed, when it showed).

    Before the first number the command starts up (Python imports, opening the mirror, the server's
    version, user and counts): that time is reported on its own."""
    last_state: bytes | None = None
    last_change: float | None = None
    first: float | None = None
    longest = 0.0
    for at, data in capture.chunks:
        found = _STATE.findall(_CONTROL.sub(b"", data))
        if not found or found[-1] == last_state:
            continue
        if first is None:
            first = at
        if last_change is not None:
            longest = max(longest, at - last_change)
        last_state, last_change = found[-1], at
    return longest, first if first is not None else capture.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=20000)
    parser.add_argument("--admin", action="store_true", help="an admin key (the tool watches the queues)")
    parser.add_argument("--write-latency", type=float, default=2.0)
    parser.add_argument("--job-delay", type=float, default=5.0)
    parser.add_argument("--save", type=Path, help="write the cleaned capture here")
    args = parser.parse_args()
    lib = generate_library(args.assets, seed=21, jobs="async", lost_writes_rate=0.1)
    lib.job_delay_s = args.job_delay
    lib.users[lib.owner_id].is_admin = args.admin
    faults = FaultPlan.parse(f"latency:1:{args.write_latency:g}@PUT /api/tags/assets")
    with tempfile.TemporaryDirectory() as tmp, running_fake_server(lib, faults=faults) as (url, key):
        env = {**os.environ, "IMMICH_URL": url, "IMMICH_API_KEY": key}
        capture = run_autotag(["--db", str(Path(tmp) / "m.db"), "run"], env, tty=True, timeout=900)
    longest, first = stills(capture)
    text = capture.text()
    pushes = sorted({int(n) for n in re.findall(r"(\d+)/\d+ changes", text)})
    print(f"exit {capture.returncode}, {capture.seconds:.1f} s in all, first number on screen after {first:.1f} s")
    print(f"longest time the progress numbers then stood still: {longest:.1f} s")
    print(f"push counts shown: {len(pushes)} distinct ({pushes[:3]} ... {pushes[-2:]})")
    for line in capture.lines():
        if re.match(r"(sync \(|classify: |push: \d+ applied|unclassified )", line):
            print(f"  {line}")
    if args.save:
        args.save.write_text("\n".join(capture.lines()) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
