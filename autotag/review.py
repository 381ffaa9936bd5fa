"""The library calls behind ``autotag review``: the plan as groups, decisions, and applying what is left.

A front end (the web page in ``autotag.web``) calls these; they call the same operations as the CLI
(``autotag.session``): the plan is ``classify --dry-run``'s, applying is ``classify`` then ``push``,
recorded as a run that ``undo`` reverts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text

from autotag import session as ops
from autotag.decisions import Decision, approved_keys, decide, lift
from autotag.outbox import start_run
from autotag.plan_groups import PlanGroup, PlanItem, group_plan, load_labels
from autotag.push import PushResult
from autotag.session import ClassifyResult, PlanChanged, Session

__all__ = ["ApplyResult", "PlanChanged", "ReviewPlan", "apply", "choose", "lift_rejections", "load_plan",
           "record"]


@dataclass
class ReviewPlan:
    result: ClassifyResult
    groups: list[PlanGroup]
    groups_by_id: dict[str, PlanGroup] = field(default_factory=dict)
    items_by_key: dict[str, PlanItem] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)  # keys a person approved (display only)

    @property
    def total(self) -> int:
        return sum(len(g.items) for g in self.groups)


def load_plan(session: Session) -> ReviewPlan:
    """The current plan (exactly ``classify --dry-run``'s), grouped for review."""
    result = ops.classify(session, dry_run=True, preview=None)
    with session.engine.connect() as conn:
        labels = load_labels(
            conn, session.cfg, result.rows, ops.output_tags(session.cfg), result.date_changes
        )
        groups = group_plan(result.rows, labels)
        approved = approved_keys(conn) & {r.idem_key for r in result.rows}
    review_tag = session.cfg.markers.review
    for item in (i for g in groups for i in g.items):
        if item.kind == "tag_add" and item.target == review_tag and item.asset_id in result.choices:
            item.choices = result.choices[item.asset_id]
    plan = ReviewPlan(result, groups, approved=approved)
    plan.groups_by_id = {g.id: g for g in groups}
    plan.items_by_key = {i.key: i for g in groups for i in g.items}
    return plan


def record(session: Session, items: list[PlanItem], decision: str) -> int:
    """Approve or reject ``items``; ``undecided`` forgets their decisions."""
    with session.engine.begin() as conn:
        if decision == "undecided":
            return lift(conn, [i.key for i in items])
        return decide(
            conn,
            (Decision(i.key, decision, i.kind, i.target, i.asset_id, i.change, i.reason) for i in items),
        )


def choose(session: Session, item: PlanItem, choice: str) -> int:
    """Settle the review of ``item``'s asset (a review marker row) with one of its competing proposals:
    that one is applied from the next plan on, instead of the marker (``autotag.proposals``)."""
    picked = next((c for c in item.choices if c[0] == choice), None)
    if picked is None:
        raise PlanChanged("that proposal is no longer one of the photo's choices: reload the page")
    key, kind, target, label = picked
    with session.engine.begin() as conn:
        return decide(conn, [Decision(key, "chosen", kind, target, item.asset_id, label, item.reason)])


def lift_rejections(session: Session, keys: list[str]) -> int:
    with session.engine.begin() as conn:
        return lift(conn, keys)


@dataclass
class ApplyResult:
    queued: int
    push: PushResult
    run_id: int  # the run recording it (command ``review``): the one ``undo`` offers


def apply(session: Session, fingerprint: str) -> ApplyResult:
    """Queue the plan (minus the rejected) and push it, as one run, if it is still the plan the person
    reviewed (as ``run`` does, without the sync: the page showed the mirror as it was).

    Raises ``PlanChanged`` (nothing queued, no run recorded) when the mirror or the decisions moved the
    plan since.
    """
    with session.engine.begin() as conn:
        run_id = start_run(conn, "review")
    status, record = "failed", {}
    try:
        try:
            classified = ops.classify(session, dry_run=False, expect=fingerprint, run_id=run_id)
        except PlanChanged:
            with session.engine.begin() as conn:  # nothing happened: no run to list or undo
                conn.execute(text("DELETE FROM runs WHERE id = :r"), {"r": run_id})
            status = "gone"
            raise
        record = classified.record()
        pushed = ops.push(session, command="review", run_id=run_id)
        status = "interrupted" if pushed.interrupted else "ok"
        record = {**record, **pushed.as_dict()}
    finally:
        if status != "gone":
            ops.finish(session, run_id, status, record)
    queued = classified.enqueued.added if classified.enqueued else 0
    return ApplyResult(queued, pushed, run_id)
