"""The everyday operations as library calls: sync, classify, push, run, undo.

The CLI only parses flags, calls one of these and renders the result; tests call them directly with a
fake-server client. Nothing here prints: progress goes through callbacks.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from autotag import derived, proposals
from autotag.closure import PLAN_TABLE, index_plan, materialize_plan
from autotag.config import AutotagConfig
from autotag.counts import as_reverted, reverted_counts, run_counts, total
from autotag.features import feature_problems
from autotag.features.dates import date_change_groups
from autotag.links import apply_scope
from autotag.outbox import EnqueueResult, counts_by_state, enqueue_plan, finish_run, start_run
from autotag.plan import (
    PlanRow,
    PlanSummary,
    StateCounts,
    held_back,
    install_rules,
    plan_fingerprint,
    plan_rows,
    plan_summary,
    state_counts,
)
from autotag.progress import CLASSIFY, Progress, no_progress
from autotag.push import Pusher, PushResult, PushSettings
from autotag.runs import RunInfo, recent_runs
from autotag.undo import choose_target, enqueue_undo, undo_items, why_nothing
from immich_mirror.api.client import ImmichClient, open_client
from immich_mirror.db.migrate import open_db
from immich_mirror.errors import ConfigError, ImmichMirrorError
from immich_mirror.sync.runner import SyncSummary, run_sync


@dataclass
class Session:
    """One command's world: the config, the mirror DB and (lazily) the Immich client."""

    cfg: AutotagConfig
    db_path: Path
    client_factory: Callable[[], ImmichClient] | None = None
    progress: Progress = no_progress
    should_stop: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] = time.sleep
    _client: ImmichClient | None = field(default=None, init=False)
    _engine: Engine | None = field(default=None, init=False)

    @property
    def client(self) -> ImmichClient:
        if self._client is None:
            if self.client_factory is not None:
                self._client = self.client_factory()
            else:
                imm = self.cfg.immich
                if not imm.url:
                    raise ConfigError("no Immich server configured: set immich.url in the config or IMMICH_URL")
                if imm.api_key is None:
                    raise ConfigError("no API key configured: set immich.api_key in the config or IMMICH_API_KEY")
                self._client = open_client(imm.url, imm.api_key, insecure=imm.insecure, timeout=imm.timeout)
        return self._client

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_db(self.db_path)
        return self._engine

    def server_base(self) -> str:
        return self.client.base_url

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._client is not None:
            self._client.close()


@dataclass
class ClassifyResult:
    summary: PlanSummary
    enqueued: EnqueueResult | None
    run_id: int | None
    rows: list[PlanRow] = field(default_factory=list)  # the first ``preview`` rows of the plan, in order
    rounds: int = 1  # how many times the plan was asked before it stopped growing (autotag.closure)
    # What a feature could not do and left to the user: (feature, problem), e.g. two albums of one name
    problems: list[tuple[str, str]] = field(default_factory=list)
    held_back: int = 0  # proposed changes a person rejected in `autotag review`, left out of the plan
    fingerprint: str = ""  # digest of the plan's changes (autotag.plan.plan_fingerprint)
    # The date changes grouped by the rule and family that produced them (autotag.features.dates)
    date_changes: list[dict[str, Any]] = field(default_factory=list)
    # Per asset under review: its competing proposals (idem_key, kind, target, label), for a person to choose
    choices: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """What ``runs.summary`` keeps of it (the report's trend reads ``by_status``)."""
        e = self.enqueued
        return {
            "enqueued": e.added if e else 0,
            "cancelled": e.cancelled if e else 0,
            "by_status": self.summary.statuses,
        }


@dataclass
class RunResult:
    sync: SyncSummary
    classify: ClassifyResult
    push: PushResult
    seconds: float
    run_id: int | None = None  # the run (sync, classify, push): the one `report` lists and `undo` reverts
    by_kind: dict[str, int] = field(default_factory=dict)  # its changes, counted as autotag.counts does

    def as_dict(self) -> dict[str, Any]:
        s = self.classify.summary
        return {
            "unclassified": s.statuses.get("unclassified", 0),
            "conflicts": s.statuses.get("conflict", 0),
            "run": self.run_id,
            "changes": total(self.by_kind),
            "by_kind": self.by_kind,
            "seconds": round(self.seconds, 2),
            "push": self.push.as_dict(),
            "problems": [f"{f}: {p}" for f, p in self.classify.problems],
        }


def sync(session: Session, *, full: bool = False) -> SyncSummary:
    summary = run_sync(
        session.client,
        session.engine,
        full=full,
        include_partners=session.cfg.immich.include_partners,
        progress=session.progress,
    )
    # Keep what the views need from Python (regex matches, zones) in step with the new mirror, so that
    # other SQLite clients read the rule views as of this sync, with the config the last classify used.
    with session.engine.begin() as conn:
        derived.refresh(conn)
    return summary


def never_synced(session: Session) -> bool:
    """No sync ever finished on this mirror: its rules would see no asset at all."""
    with session.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT 1 FROM sync_runs WHERE status = 'ok' LIMIT 1").first() is None


def output_tags(cfg: AutotagConfig) -> list[str]:
    """The tags the tool sets only as markers: nothing else reads them, so a plan never rehearses them."""
    return [cfg.markers.unclassified, cfg.markers.conflict, cfg.markers.review, cfg.duplicates.conflict_tag,
            cfg.album_dates.tag]


def closed_plan(
    conn: Connection, cfg: AutotagConfig, *, outcome: proposals.Outcome | None = None
) -> tuple[int, StateCounts]:
    """The plan resolved (autotag.proposals) and closed (autotag.closure) into ``PLAN_TABLE``; the rounds
    it took and the statuses and rules as it leaves them. ``outcome`` gets what the resolution left for
    a person (the review page's choices, the review markers held back)."""
    measured: list[StateCounts] = []
    rounds = materialize_plan(
        conn,
        output_tags(cfg),
        resolve=partial(proposals.resolve, proposals=proposals.Proposals.of(cfg)),
        measure=lambda c: measured.append(state_counts(c)),
    )
    proposals.drop_reviewed(conn, PLAN_TABLE)
    if outcome is not None:
        found = proposals.outcome(conn)
        outcome.choices, outcome.held = found.choices, found.held
    proposals.drop(conn)
    return rounds, measured[0]


class PlanChanged(ImmichMirrorError):
    """The plan is no longer the one a person reviewed: nothing was queued."""


def classify(
    session: Session,
    *,
    dry_run: bool,
    skip_empty: bool = False,
    preview: int | None = 0,
    expect: str | None = None,
    run_id: int | None = None,
    command: str = "classify",
) -> ClassifyResult:
    """Compile the rules into views, close the plan, and (unless dry) make the outbox equal to it.

    ``skip_empty``: when the plan and the live outbox are both empty there is nothing to record, so no
    run is started (``watch`` cycles that only saw their own writes come back). ``preview``: how many
    plan rows to return for display (None: all). ``expect``: the fingerprint of the plan a person
    reviewed; if the plan differs now, ``PlanChanged`` is raised before anything is queued.
    ``run_id``: the run of the command that classifies as one of its steps (``run``), which records
    it; by default classify starts a run of its own, named ``command`` (a ``watch`` cycle names it so
    and records its push in it: one run per cycle).
    """
    engine = session.engine
    session.progress(CLASSIFY, 0, None)  # no counts: a front end shows that it runs, and for how long
    apply_scope(session)  # exclude:/only: links -> scope tables, before the views read them
    install_rules(engine, session.cfg)
    with engine.begin() as conn:
        # The plan is computed (and closed) once: counted, shown, then enqueued from one materialized copy.
        outcome = proposals.Outcome()
        rounds, state = closed_plan(conn, session.cfg, outcome=outcome)
        summary = plan_summary(conn, plan_source=PLAN_TABLE, state=state)
        rows = [] if preview == 0 else list(plan_rows(conn, preview, source=PLAN_TABLE))
        problems = feature_problems(conn)
        date_changes = date_change_groups(conn, PLAN_TABLE) if summary.kinds.get("set_date") else []
        held = held_back(conn) + outcome.held
        fingerprint = plan_fingerprint(conn, PLAN_TABLE) if preview is None or expect is not None else ""
        if expect is not None and fingerprint != expect:
            conn.exec_driver_sql(f"DROP TABLE {PLAN_TABLE}")
            raise PlanChanged("the plan changed since the page showed it (the mirror or a decision changed): "
                              "nothing was applied; reload the page and review again")
        if dry_run or (skip_empty and not summary.changes and not _live(conn)):
            conn.exec_driver_sql(f"DROP TABLE {PLAN_TABLE}")
            return ClassifyResult(summary, None, None, rows, rounds, problems, held, fingerprint, date_changes,
                                  outcome.choices)
        own_run = run_id is None
        if run_id is None:
            run_id = start_run(conn, command)
        index_plan(conn)
        enqueued = enqueue_plan(conn, run_id, source=PLAN_TABLE)
        conn.exec_driver_sql(f"DROP TABLE {PLAN_TABLE}")
        result = ClassifyResult(summary, enqueued, run_id, rows, rounds, problems, held, fingerprint, date_changes,
                                outcome.choices)
        if own_run:
            finish_run(conn, run_id, "ok", result.record())
    return result


def push_settings(cfg: AutotagConfig) -> PushSettings:
    p = cfg.push
    return PushSettings(
        chunk_size=p.chunk_size,
        settle_seconds_per_asset=p.settle_seconds_per_asset,
        settle_max_seconds=p.settle_max_seconds,
        verify_rounds=p.verify_rounds,
    )


def push(
    session: Session,
    *,
    command: str = "push",
    run_id: int | None = None,
    only_run: int | None = None,
) -> PushResult:
    """Drain the outbox. ``run_id``: the run of the command this push is a step of (it records it);
    by default the push is a run of its own, named ``command``."""
    engine = session.engine
    own_run = run_id is None
    if run_id is None:
        with engine.begin() as conn:
            run_id = start_run(conn, command)
    pusher = Pusher(
        session.client,
        engine,
        run_id,
        push_settings(session.cfg),
        sleep=session.sleep,
        should_stop=session.should_stop,
        progress=session.progress,
        only_run=only_run,
        stage="undo" if command == "undo" else "push",
    )
    status = "failed"
    try:
        result = pusher.push()
        status = "interrupted" if result.interrupted else "ok"
        return result
    finally:
        if own_run:
            with engine.begin() as conn:
                finish_run(conn, run_id, status, pusher.result.as_dict())


PhaseEnd = Callable[[str, Any], None]


def run(session: Session, *, full: bool = False, on_phase: PhaseEnd | None = None) -> RunResult:
    """sync + classify + push: the everyday command, recorded as one run (the one ``undo`` offers).

    ``on_phase(name, result)`` is called as each step ends (``sync``, ``classify``, ``push``), so a front
    end can show each summary when it is known instead of all of them at the end.
    """
    started = time.monotonic()
    phase_end: PhaseEnd = on_phase or (lambda _name, _result: None)
    sync_summary = sync(session, full=full)
    phase_end("sync", sync_summary)
    with session.engine.begin() as conn:
        # Once the mirror is fresh: the sync records itself in sync_runs, and a sync that fails leaves
        # no run without changes behind.
        run_id = start_run(conn, "run")
    status, record = "failed", {}
    try:
        classified = classify(session, dry_run=False, run_id=run_id)
        record = classified.record()
        phase_end("classify", classified)
        pushed = push(session, command="run", run_id=run_id)
        status = "interrupted" if pushed.interrupted else "ok"
        record = {**record, **pushed.as_dict()}
    finally:
        with session.engine.begin() as conn:
            finish_run(conn, run_id, status, record)
    with session.engine.connect() as conn:
        by_kind = run_counts(conn, run_id)  # as the dry run, report and undo count them
    if pushed.sent:
        # Album and tag changes of the organiser features can classify assets: count again after them.
        with session.engine.connect() as conn:
            after = state_counts(conn)  # statuses and rules together, so that they agree
        classified = dataclasses.replace(
            classified, summary=dataclasses.replace(classified.summary, statuses=after.statuses, rules=after.rules)
        )
    phase_end("push", pushed)
    return RunResult(sync_summary, classified, pushed, time.monotonic() - started, run_id, by_kind)


def finish(session: Session, run_id: int, status: str, record: dict[str, Any]) -> None:
    """Close a run a command kept open across its steps, with what they did."""
    with session.engine.begin() as conn:
        finish_run(conn, run_id, status, record)


def outbox_counts(session: Session) -> dict[str, int]:
    with session.engine.connect() as conn:
        return counts_by_state(conn)


def _live(conn: Connection) -> int:
    counts = counts_by_state(conn)
    return counts.get("pending", 0) + counts.get("failed", 0)


RUNS_SHOWN = 10  # the runs ``undo`` lists before applying: the newest, which are the ones people undo


@dataclass
class UndoResult:
    undone_run: int
    items: list[Any]
    push: PushResult | None
    run_id: int | None = None  # the undo's own run (None: only shown)
    runs: list[RunInfo] = field(default_factory=list)  # shown without --yes: what else could be undone
    names: dict[str, str] = field(default_factory=dict)  # album id -> name, for what a person reads
    # What it reverts (or reverted, as logged), counted as the reverted run counts its changes: the same
    # total and kinds as the run list shows for that run, the albums and tags it deletes beside them.
    by_kind: dict[str, int] = field(default_factory=dict)


def _album_names(conn: Connection, items: list[Any]) -> dict[str, str]:
    ids = sorted({it.target for it in items if it.kind.startswith("album")})
    names: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = {f"a{n}": a for n, a in enumerate(ids[i : i + 500])}
        marks = ", ".join(f":{k}" for k in chunk)
        for album_id, name in conn.execute(
            text(f"SELECT album_id, name FROM created_albums WHERE album_id IN ({marks}) "
                 f"UNION ALL SELECT id, name FROM albums WHERE id IN ({marks})"),
            chunk,
        ):
            names[str(album_id)] = str(name)
    return names


def undo(session: Session, *, run_id: int | None, apply: bool) -> UndoResult:
    engine = session.engine
    with engine.connect() as conn:
        target = choose_target(conn, run_id)
        items = undo_items(conn, target)
        if not items:
            raise ImmichMirrorError(why_nothing(conn, target))
        names = _album_names(conn, items)
        if not apply:
            return UndoResult(target, items, None, runs=recent_runs(conn, limit=RUNS_SHOWN), names=names,
                              by_kind=reverted_counts(it.kind for it in items))
    with engine.begin() as conn:
        new_run = start_run(conn, "undo", undo_of=target)
        enqueue_undo(conn, new_run, target, items)
    result = push(session, command="undo", run_id=new_run, only_run=new_run)
    with engine.begin() as conn:
        finish_run(conn, new_run, "interrupted" if result.interrupted else "ok", result.as_dict())
        done = as_reverted(run_counts(conn, new_run))  # what took effect, as the run lists count it
    return UndoResult(target, items, result, new_run, names=names, by_kind=done)
