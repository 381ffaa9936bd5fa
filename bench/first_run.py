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
from dataclasses import dataclass
from pathlib import Path

from immich_mirror.fake.faults import FaultPlan
from immich_mirror.fake.generate import generate_library
from immich_mirror.fake.runner import running_fake_server
from tests.terminal import Capture, run_autotag

# What moves on the screen: a count (1000/13500), the jobs still queued, the seconds left of a wait.
_STATE = re.compile(rb"\d+/\d+ \w+|\(\d+ jobs queued|\(about \d+ s\)")
_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


def stills(capture: Capture) -> tuple[float, float, str]:
    """(longest time the progress numbers did not change once the first one showed, when it showed,
    what the screen showed as that stillness ended).

    Before the first number the command starts up (Python imports, opening the mirror, the server's
    version, user and counts): that time is reported on its own."""
    last_state: bytes | None = None
    last_change: float | None = None
    first: float | None = None
    longest = 0.0
    where = ""
    for at, data in capture.chunks:
        found = _STATE.findall(_CONTROL.sub(b"", data))
        if not found or found[-1] == last_state:
            continue
        if first is None:
            first = at
        if last_change is not None and at - last_change > longest:
            longest, where = at - last_change, found[-1].decode()
        last_state, last_change = found[-1], at
    return longest, first if first is not None else capture.seconds, where


@dataclass
class FirstRun:
    """One capture of ``autotag run`` on a pseudo-terminal, as the person saw it."""

    assets: int
    admin: bool
    returncode: int
    seconds: float
    first_number: float  # when the first progress number showed (start-up before it)
    still: float  # the longest time the numbers then stood still
    still_until: str  # what the screen showed when that stillness ended
    push_counts: int  # distinct push counts shown
    summaries: list[str]
    lines: list[str]

    def row(self) -> tuple[str, str, str, str, str]:
        key = "admin key (waits for the queues)" if self.admin else "user key (spaces its writes)"
        return (
            f"first run {self.assets // 1000}k on a terminal, slow fake, {key}: progress numbers on screen",
            f"never still more than {self.still:.1f} s after the first one ({self.first_number:.1f} s, start-up); "
            f"{self.push_counts} push counts shown; {self.seconds:.0f} s in all",
            "-",
            "-",
            "still <= 10 s",
        )


def capture_first_run(assets: int, *, admin: bool, write_latency: float = 2.0, job_delay: float = 5.0) -> FirstRun:
    lib = generate_library(assets, seed=21, jobs="async", lost_writes_rate=0.1)
    lib.job_delay_s = job_delay
    lib.users[lib.owner_id].is_admin = admin
    faults = FaultPlan.parse(f"latency:1:{write_latency:g}@PUT /api/tags/assets")
    with tempfile.TemporaryDirectory() as tmp, running_fake_server(lib, faults=faults) as (url, key):
        env = {**os.environ, "IMMICH_URL": url, "IMMICH_API_KEY": key}
        capture = run_autotag(["--db", str(Path(tmp) / "m.db"), "run"], env, tty=True, timeout=900)
    still, first, where = stills(capture)
    lines = capture.lines()
    return FirstRun(
        assets=assets,
        admin=admin,
        returncode=capture.returncode,
        seconds=capture.seconds,
        first_number=first,
        still=still,
        still_until=where,
        push_counts=len({int(n) for n in re.findall(r"(\d+)/\d+ changes", capture.text())}),
        summaries=[ln for ln in lines if re.match(r"(sync \(|classify: |push: \d+ applied|unclassified )", ln)],
        lines=lines,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=20000)
    parser.add_argument("--admin", action="store_true", help="an admin key (the tool watches the queues)")
    parser.add_argument("--write-latency", type=float, default=2.0)
    parser.add_argument("--job-delay", type=float, default=5.0)
    parser.add_argument("--save", type=Path, help="write the cleaned capture here")
    args = parser.parse_args()
    run = capture_first_run(args.assets, admin=args.admin, write_latency=args.write_latency, job_delay=args.job_delay)
    print(f"exit {run.returncode}, {run.seconds:.1f} s in all, first number on screen after {run.first_number:.1f} s")
    print(f"longest time the progress numbers then stood still: {run.still:.1f} s (until {run.still_until!r})")
    print(f"push counts shown: {run.push_counts} distinct")
    for line in run.summaries:
        print(f"  {line}")
    if args.save:
        args.save.write_text("\n".join(run.lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
