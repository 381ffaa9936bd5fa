"""Reading back what the server kept: once settled, the membership of every tag the push touched is read
(one search per tag) and compared with what was written; what was lost is re-applied, for at most
``push.verify_rounds`` rounds, and what is still lost is written into the mirror as the server has it,
so the next plan asks for it again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from autotag.effects import apply_to_mirror, change_of
from autotag.outbox import OutboxRow, record_changes
from autotag.progress import VERIFY, Progress
from autotag.push.result import PushResult, PushSettings
from autotag.push.settle import Settler
from immich_mirror.api.client import ImmichClient
from immich_mirror.sync.pushed import record_push

log = logging.getLogger(__name__)


class Verifier:
    """What the push's tag writes must have left on the server, and the rounds that check it."""

    def __init__(
        self,
        client: ImmichClient,
        engine: Engine,
        settings: PushSettings,
        settler: Settler,
        result: PushResult,
        tag_ids: dict[str, str],
        *,
        run_id: int | None,
        progress: Progress,
    ) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings
        self.settler = settler
        self.result = result
        self.tag_ids = tag_ids  # the pusher's (tag value -> id), shared: tags it creates appear here too
        self.run_id = run_id
        self.progress = progress
        # tag id -> (assets that must have it, assets that must not): what verification checks
        self.want: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
        self.verified_from: datetime | None = None

    def _members(self, tag_id: str, read: list[int], expected: int) -> set[str]:
        """The tag's members on the server; ``read`` counts the items read so far in this round."""
        members: set[str] = set()
        for items in self.client.search_assets(
            visibility=None, with_deleted=True, tag_ids=[tag_id], with_exif=False
        ):
            members.update(item["id"] for item in items)
            read[0] += len(items)
            self.progress(VERIFY, read[0], max(expected, read[0]))
        return members

    def _expected_members(self) -> int:
        """How many items verify will read: the mirror's links to the tags it checks (after our writes)."""
        ids = list(self.want)
        with self.engine.connect() as conn:
            marks = ", ".join(f":t{i}" for i in range(len(ids)))
            n = conn.execute(
                text(f"SELECT count(*) FROM asset_tags WHERE tag_id IN ({marks})"),
                {f"t{i}": t for i, t in enumerate(ids)},
            ).scalar()
        return int(n or 0)

    def verify(self, reapply: Callable[[list[OutboxRow], list[OutboxRow]], None]) -> None:
        """Up to ``verify_rounds`` rounds; ``reapply(adds, removes)`` sends again what a round found lost."""
        if not self.want:
            return
        value_of = {v: k for k, v in self.tag_ids.items()}
        for round_no in range(1, self.settings.verify_rounds + 1):
            self.settler.settle()
            self.result.rounds = round_no
            lost_adds: list[OutboxRow] = []
            lost_removes: list[OutboxRow] = []
            self.verified_from = None
            self.settler.second_after_settling()
            expected, read = self._expected_members(), [0]
            for tag_id, (present, absent) in self.want.items():
                members = self._members(tag_id, read, expected)
                if self.verified_from is None:
                    # The server's clock as this round began reading: every asset stamp before it is a
                    # change this round saw the result of (the next sync trusts those, push_verified).
                    self.verified_from = self.client.last_server_date or datetime.now(UTC)
                value = value_of.get(tag_id, tag_id)
                lost_adds += [synthetic("tag_add", value, a) for a in sorted(present - members)]
                lost_removes += [synthetic("tag_remove", value, a) for a in sorted(absent & members)]
            self.progress(VERIFY, read[0], read[0])  # the round is over, whatever the mirror expected
            lost = len(lost_adds) + len(lost_removes)
            if round_no == 1:
                self.result.writes_lost = lost
            if not lost:
                self.result.still_lost = 0
                return
            if round_no == self.settings.verify_rounds:
                self.result.still_lost = lost
                self._record_lost(lost_adds + lost_removes)
                return
            log.info("verify round %d: %d write(s) lost by the server, re-applying", round_no, lost)
            self.result.writes_reapplied += lost
            reapply(lost_adds, lost_removes)

    def _record_lost(self, rows: list[OutboxRow]) -> None:
        """Make the mirror say what the server has, so the next plan asks for these again."""
        inverse = [
            synthetic("tag_remove" if r.kind == "tag_add" else "tag_add", r.target, r.asset_id) for r in rows
        ]
        with self.engine.begin() as conn:
            apply_to_mirror(conn, inverse, self.tag_ids)
            record_changes(
                conn,
                self.run_id,
                [{**change_of(r, "still lost after the last verify round"), "after": None} for r in rows],
            )

    def record_moved_tags(self, created: set[str]) -> None:
        """Store what our writes moved (tag records, verified assets), or the next sync would take it for
        someone else's change and read every tag's members again (immich_mirror/sync/pushed.py)."""
        if self.want:
            record_push(self.client, self.engine, self.want, self.verified_from, created)


def synthetic(kind: str, target: str, asset_id: str | None) -> OutboxRow:
    """A write verify found lost: re-sent and logged like a queued one, but with no outbox row (id 0)."""
    return OutboxRow(
        id=0,
        run_id=None,
        kind=kind,
        target=target,
        asset_id=asset_id,
        payload=None,
        before=None,
        reason=None,
        attempts=0,
    )
