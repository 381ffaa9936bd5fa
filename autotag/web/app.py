"""The review server's routes: the page, its JSON API and thumbnails, over ``autotag.review``.

Everything a person reads names albums, tags and dates; ids travel only as data (thumbnail URLs, keys
of decisions, links into Immich). Nothing sent to the browser is built from the config's secrets.
"""

from __future__ import annotations

import html
import json
import logging
from importlib import resources
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autotag import review
from autotag.decisions import Decision, rejected
from autotag.plan_groups import PlanItem, asset_info
from autotag.progress_chart import progress_svg
from autotag.report import progress_trend
from autotag.review import ReviewPlan
from autotag.web.security import Guard
from autotag.web.state import Busy, ReviewState
from autotag.worklist import conflicts, unclassified_days
from immich_mirror.errors import DatabaseBusy, ImmichMirrorError, NotFound
from immich_mirror.urls import web_link

log = logging.getLogger(__name__)

PAGE_SIZE = 48
MAX_PAGE_SIZE = 500
STATIC = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}


def _static(name: str) -> str:
    return resources.files("autotag.web").joinpath("static", name).read_text(encoding="utf-8")


class BadRequest(ImmichMirrorError):
    exit_code = 2


def _int(request: Request, name: str, default: int, *, lo: int = 0, hi: int = 1_000_000) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    return max(lo, min(hi, value))


def _paging(request: Request) -> tuple[int, int]:
    return _int(request, "page", 1, lo=1), _int(request, "size", PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE)


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BadRequest("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def create_app(state: ReviewState, token: str, *, loopback_only: bool = True) -> Guard:
    """The ASGI app of the review page, behind the token/Host/Origin guard."""
    session = state.session

    def secrets() -> list[str]:
        key = session.cfg.immich.api_key
        value = key.get_secret_value() if isinstance(key, SecretStr) else str(key or "")
        return [value] if len(value) >= 6 else []

    def reply(payload: Any, status: int = 200) -> Response:
        body = json.dumps(payload, default=str)
        for secret in secrets():  # defence in depth: nothing we send is built from it, and nothing may carry it
            body = body.replace(secret, "***")
        return Response(body, status_code=status, media_type="application/json")

    def fail(exc: ImmichMirrorError) -> Response:
        if isinstance(exc, Busy | DatabaseBusy | review.PlanChanged):
            status = 409
        else:
            status = 400 if isinstance(exc, BadRequest) else 502
        return reply({"error": exc.message}, status)

    def link(asset_id: str | None) -> str | None:
        return web_link(state.web_base(), asset_id) if asset_id else None

    def plan_json(plan: ReviewPlan) -> dict[str, Any]:
        r = plan.result
        features: dict[str, list[dict[str, Any]]] = {}
        for g in plan.groups:
            features.setdefault(g.feature, []).append(
                {
                    "id": g.id,
                    "name": g.name,
                    "count": len(g.items),
                    "kinds": g.kinds,
                    "approved": sum(1 for i in g.items if i.key in plan.approved),
                }
            )
        return {
            "fingerprint": r.fingerprint,
            "total": plan.total,  # rows to review; `changes` adds the albums and tags the push creates
            "changes": r.summary.changes,
            "by_status": r.summary.statuses,
            "by_kind": r.summary.kinds,
            "held_back": r.held_back,
            "approved": len(plan.approved & set(plan.items_by_key)),
            "problems": [f"{f}: {p}" for f, p in r.problems],
            "features": [
                {"feature": f, "count": sum(g["count"] for g in gs), "groups": gs} for f, gs in features.items()
            ],
        }

    def items_json(plan: ReviewPlan, items: list[PlanItem]) -> list[dict[str, Any]]:
        with session.engine.connect() as conn:
            info = asset_info(conn, [i.asset_id for i in items if i.asset_id])
        out = []
        for i in items:
            a = info.get(i.asset_id or "")
            out.append(
                {
                    "key": i.key,
                    "kind": i.kind,
                    "asset_id": i.asset_id,
                    "change": i.change,
                    "reason": i.reason,
                    "file_name": a.file_name if a else None,
                    "taken": a.taken if a else None,
                    "link": link(i.asset_id),
                    "decision": "approved" if i.key in plan.approved else None,
                    # under review: the competing proposals, one of which a person may choose
                    "choices": [{"key": key, "label": label} for key, _kind, _target, label in i.choices],
                }
            )
        return out

    # ------------------------------------------------------------------------------------ pages

    def page(request: Request) -> Response:
        body = _static("review.html").replace("{{TOKEN}}", html.escape(quote(token, safe=""), quote=True))
        return Response(body, media_type="text/html; charset=utf-8")

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(_static(name), media_type=STATIC[name])

    def thumbnail(request: Request) -> Response:
        try:
            body, ctype = state.thumbs.get(request.path_params["asset_id"])
        except ValueError:
            return Response("not an asset id\n", status_code=400, media_type="text/plain")
        except NotFound:
            return Response("no such asset\n", status_code=404, media_type="text/plain")
        except ImmichMirrorError as exc:
            log.warning("thumbnail of %s: %s", request.path_params["asset_id"], exc.message)
            return Response("thumbnail unavailable\n", status_code=502, media_type="text/plain")
        # The thumbnail may be cached by the browser; the token in its URL is this session's only.
        return Response(body, media_type=ctype, headers={"cache-control": "private, max-age=86400"})

    def progress_image(request: Request) -> Response:
        with session.engine.connect() as conn:
            svg = progress_svg(progress_trend(conn))
        return Response(svg, media_type="image/svg+xml")

    # -------------------------------------------------------------------------------------- API

    def get_plan(request: Request) -> Response:
        try:
            return reply(plan_json(state.current_plan()))
        except ImmichMirrorError as exc:
            return fail(exc)

    def reload(request: Request) -> Response:
        try:
            return reply(plan_json(state.reload()))
        except ImmichMirrorError as exc:
            return fail(exc)

    def group(request: Request) -> Response:
        try:
            plan = state.current_plan()
            found = plan.groups_by_id.get(request.path_params["gid"])
            if found is None:
                return reply({"error": "no such group in the current plan: reload the page"}, 404)
            number, size = _paging(request)
            chunk = found.items[(number - 1) * size : number * size]
            return reply(
                {
                    "id": found.id,
                    "feature": found.feature,
                    "name": found.name,
                    "count": len(found.items),
                    "page": number,
                    "pages": _pages(len(found.items), size),
                    "items": items_json(plan, chunk),
                }
            )
        except ImmichMirrorError as exc:
            return fail(exc)

    async def decide(request: Request) -> Response:
        try:
            data = await _body(request)
            decision = data.get("decision")
            if decision not in ("approved", "rejected", "undecided", "chosen"):
                raise BadRequest("decision must be approved, rejected, undecided or chosen")
            plan = state.plan
            if plan is None or data.get("fingerprint") != plan.result.fingerprint:
                raise review.PlanChanged("the plan changed since the page showed it: reload the page")
            items = _selected(plan, data)
            if decision == "chosen" and (len(items) != 1 or not isinstance(data.get("choice"), str)):
                raise BadRequest("chosen: give the key of one review marker and the choice's key")
            result = await run_in_threadpool(_decide, plan, items, decision, str(data.get("choice") or ""))
            return reply(result)
        except ImmichMirrorError as exc:
            return fail(exc)

    def _decide(plan: ReviewPlan, items: list[PlanItem], decision: str, choice: str) -> dict[str, Any]:
        with state.writing(wait=30.0):
            n = review.choose(session, items[0], choice) if decision == "chosen" else review.record(
                session, items, decision
            )
            if decision in ("rejected", "chosen"):
                state.plan = plan = review.load_plan(session)  # held out now: the plan (and its closure) moves
            elif decision == "approved":
                plan.approved |= {i.key for i in items}
            else:
                plan.approved -= {i.key for i in items}
        return {"recorded": n, "plan": plan_json(plan)}

    def held(request: Request) -> Response:
        number, size = _paging(request)
        with session.engine.connect() as conn:
            total, rows = rejected(conn, limit=size, offset=(number - 1) * size)
            # The proposals chosen to settle photos under review: few (a person's clicks), all on one page.
            _n, chosen = rejected(conn, limit=1000, decision="chosen")
            info = asset_info(conn, [r.asset_id for r in (*rows, *chosen) if r.asset_id])

        def shown(r: Decision) -> dict[str, Any]:
            return {
                "key": r.idem_key,
                "kind": r.kind,
                "asset_id": r.asset_id,
                "change": r.label,
                "reason": r.reason,
                "file_name": info[r.asset_id].file_name if r.asset_id in info else None,
                "taken": info[r.asset_id].taken if r.asset_id in info else None,
                "link": link(r.asset_id),
                "decided_at": r.decided_at,
            }

        return reply({"count": total, "page": number, "pages": _pages(total, size),
                      "items": [shown(r) for r in rows], "chosen": [shown(r) for r in chosen]})

    async def lift(request: Request) -> Response:
        try:
            data = await _body(request)
            keys = data.get("keys")
            def work() -> dict[str, Any]:
                with state.writing(wait=30.0):
                    if data.get("all"):
                        with session.engine.connect() as conn:
                            _total, rows = rejected(conn, limit=1_000_000_000)
                        chosen = [r.idem_key for r in rows]
                    elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
                        chosen = list(keys)
                    else:
                        raise BadRequest("give keys (a list) or all: true")
                    n = review.lift_rejections(session, chosen)
                    state.plan = review.load_plan(session)
                    return {"lifted": n, "plan": plan_json(state.plan)}

            return reply(await run_in_threadpool(work))
        except ImmichMirrorError as exc:
            return fail(exc)

    async def apply(request: Request) -> Response:
        try:
            data = await _body(request)
            fingerprint = data.get("fingerprint")
            if not isinstance(fingerprint, str) or not fingerprint:
                raise BadRequest("fingerprint is required: the page sends the plan it shows")
            state.start_apply(fingerprint)
            return reply(state.apply_status.as_dict(), 202)
        except ImmichMirrorError as exc:
            return fail(exc)

    def apply_status(request: Request) -> Response:
        return reply(state.apply_status.as_dict())

    def conflict_list(request: Request) -> Response:
        number, size = _paging(request)
        state.current_plan()  # the rule views are the plan's
        with session.engine.connect() as conn:
            total, page_rows = conflicts(conn, limit=size, offset=(number - 1) * size)
        return reply(
            {
                "count": total,
                "page": number,
                "pages": _pages(total, size),
                "items": [
                    {
                        "asset_id": c.asset_id,
                        "file_name": c.file_name,
                        "taken": c.taken,
                        "rules": c.rules,
                        "causes": [{"rule": r, "what": w} for r, w in c.causes],
                        "link": link(c.asset_id),
                    }
                    for c in page_rows
                ],
            }
        )

    def unclassified(request: Request) -> Response:
        number, size = _paging(request)
        size = min(size, 60)
        state.current_plan()
        with session.engine.connect() as conn:
            total, days, page_rows = unclassified_days(conn, limit=size, offset=(number - 1) * size)
        return reply(
            {
                "count": total,
                "days": days,
                "page": number,
                "pages": _pages(days, size),
                "items": [
                    {"day": d.day, "count": d.count, "assets": [{"asset_id": a, "link": link(a)} for a in d.asset_ids]}
                    for d in page_rows
                ],
            }
        )

    def trend(request: Request) -> Response:
        with session.engine.connect() as conn:
            return reply({"trend": progress_trend(conn)})

    def health(request: Request) -> Response:
        with session.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return reply({"ok": True})

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/thumb/{asset_id}", thumbnail),
        Route("/progress.svg", progress_image),
        Route("/api/plan", get_plan),
        Route("/api/reload", reload, methods=["POST"]),
        Route("/api/group/{gid}", group),
        Route("/api/decide", decide, methods=["POST"]),
        Route("/api/held", held),
        Route("/api/lift", lift, methods=["POST"]),
        Route("/api/apply", apply, methods=["POST"]),
        Route("/api/apply", apply_status),
        Route("/api/conflicts", conflict_list),
        Route("/api/unclassified", unclassified),
        Route("/api/trend", trend),
        Route("/api/health", health),
    ]
    return Guard(Starlette(routes=routes), token, loopback_only=loopback_only)


def _selected(plan: ReviewPlan, data: dict[str, Any]) -> list[PlanItem]:
    """The plan's items a decision names: ``all``, ``groups`` (ids) and/or ``keys`` (idem keys)."""
    if data.get("all"):
        return [i for g in plan.groups for i in g.items]
    chosen: dict[str, PlanItem] = {}
    groups, keys = data.get("groups") or [], data.get("keys") or []
    if not isinstance(groups, list) or not isinstance(keys, list):
        raise BadRequest("groups and keys must be lists")
    for gid in groups:
        found = plan.groups_by_id.get(str(gid))
        if found is None:
            raise review.PlanChanged("a group is no longer in the plan: reload the page")
        chosen.update((i.key, i) for i in found.items)
    for key in keys:
        item = plan.items_by_key.get(str(key))
        if item is None:
            raise review.PlanChanged("a change is no longer in the plan: reload the page")
        chosen[item.key] = item
    if not chosen:
        raise BadRequest("nothing selected: give keys, groups or all")
    return list(chosen.values())
