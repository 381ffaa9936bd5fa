"""What a push is given (``PushSettings``) and what it reports (``PushResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PushSettings:
    chunk_size: int = 1000
    settle_seconds_per_asset: float = 0.05
    settle_max_seconds: float = 120.0
    verify_rounds: int = 3
    queue_poll_seconds: float = 0.5


@dataclass
class PushResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    rounds: int = 0
    writes_lost: int = 0
    writes_reapplied: int = 0
    still_lost: int = 0
    # Albums and tags an undo deleted (the tool's own creations): apart from ``sent``, as runs count what
    # they create apart from their changes (autotag.counts)
    deleted: int = 0
    calls: list[str] = field(default_factory=list)  # dry run: what would be sent
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "calls"}
