"""One writer per mirror: an advisory lock on a file next to the database (``<db>.lock``).

The commands that write (sync, classify, push, run, undo, watch) take it; readers (``sql``, ``status``,
``links check``) do not, because SQLite's WAL lets them read while a sync writes. The lock is
``flock(2)``: the kernel drops it when its holder dies, so a killed process never leaves a lock that
blocks the next one. The holder writes its pid into the file, only for the message a waiting process
shows; the file itself is never deleted (deleting a lock file lets two processes lock two different
files). Where ``fcntl`` does not exist (Windows) the ``filelock`` package takes the lock instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from immich_mirror.errors import DatabaseBusy, DatabaseUnwritable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

DEFAULT_WAIT = 3.0  # seconds: long enough for a status line to finish, short enough to not look hung
POLL = 0.1


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class DbLock:
    """``with DbLock(db): ...`` or ``acquire()``/``release()``; raises ``DatabaseBusy`` after ``wait`` s."""

    def __init__(
        self,
        db_path: Path,
        *,
        wait: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db_path = db_path
        self.path = lock_path(db_path)
        self.wait = DEFAULT_WAIT if wait is None else wait
        self._sleep = sleep
        self._clock = clock
        self._fd: int | None = None
        self._fallback: object | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None or self._fallback is not None

    def _busy(self) -> DatabaseBusy:
        try:
            pid = self.path.read_text(encoding="ascii").strip() or "unknown"
        except (OSError, UnicodeDecodeError):
            pid = "unknown"
        return DatabaseBusy(
            f"another autotag process (pid {pid}) is using {self.db_path}; wait for it to finish or stop it"
        )

    def acquire(self) -> None:
        if self.held:
            return
        if fcntl is None:  # pragma: no cover - Windows
            self._acquire_fallback()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DatabaseUnwritable(f"cannot create the lock file {self.path}: {exc.strerror}") from None
        deadline = self._clock() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if self._clock() >= deadline:
                    os.close(fd)
                    raise self._busy() from None
                self._sleep(POLL)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd

    def _acquire_fallback(self) -> None:  # pragma: no cover - Windows
        import filelock

        lock = filelock.FileLock(str(self.path))
        try:
            lock.acquire(timeout=self.wait)
        except filelock.Timeout:
            raise self._busy() from None
        self._fallback = lock

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            assert fcntl is not None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if self._fallback is not None:  # pragma: no cover - Windows
            self._fallback.release()  # type: ignore[attr-defined]
            self._fallback = None

    def __enter__(self) -> DbLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
