"""Run ``autotag`` as a person would and keep what they saw: on a pseudo-terminal, or through a pipe.

Used by the progress tests and by ``bench/first_run.py``. Every read is stamped with its arrival time,
so a capture also says how long the screen stood still.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

# The lines a command writes on stderr off a terminal as its phases end (autotag/progress_view.py) and
# as its steps end (sync, classify, push summaries): what precedes an error line in a log.
PROGRESS_LINE = re.compile(
    r"^(sync \w+: |sync \(|classify: |push: |undo: |verify: |waiting for Immich |spacing writes )"
)

# CSI sequences (cursor moves, erase, colours) and the carriage returns a live display redraws with.
_CONTROL = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\r")


@dataclass
class Capture:
    returncode: int
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since start, bytes)
    seconds: float = 0.0

    @property
    def raw(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    def text(self) -> str:
        """What was written, each redraw of a live line on a line of its own."""
        return _CONTROL.sub(b"\n", self.raw).decode("utf-8", errors="replace")

    def lines(self) -> list[str]:
        """The distinct lines in order (a redraw that changed nothing is not a new line)."""
        out: list[str] = []
        for line in self.text().splitlines():
            line = line.strip()
            if line and (not out or out[-1] != line):
                out.append(line)
        return out

    def longest_silence(self) -> float:
        """The longest time between two writes (start and exit included)."""
        stamps = [0.0, *(t for t, _ in self.chunks), self.seconds]
        return max(b - a for a, b in itertools.pairwise(stamps))


def run_autotag(
    args: list[str], env: dict[str, str], *, tty: bool, timeout: float = 120.0, columns: int = 120
) -> Capture:
    """``python -m autotag ARGS`` with stdout and stderr on one pseudo-terminal (``tty``) or one pipe."""
    argv = [sys.executable, "-m", "autotag", *args]
    env = {**env, "TERM": "xterm-256color" if tty else "dumb"}
    for name in ("COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(name, None)
    if tty:
        reader, writer = pty.openpty()
        fcntl.ioctl(writer, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    else:
        reader, writer = os.pipe()
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=writer, stderr=writer, env=env, close_fds=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    os.close(writer)
    capture = Capture(returncode=0)
    try:
        while True:
            if time.monotonic() - started > timeout:
                proc.kill()
                raise TimeoutError(f"autotag {' '.join(args)} ran longer than {timeout} s")
            ready, _, _ = select.select([reader], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(reader, 65536)
            except OSError:  # a pseudo-terminal whose other end closed (EIO on Linux)
                break
            if not data:
                break
            capture.chunks.append((time.monotonic() - started, data))
        capture.returncode = proc.wait(timeout=timeout)
    finally:
        os.close(reader)
        if proc.poll() is None:
            proc.kill()
    capture.seconds = time.monotonic() - started
    return capture
