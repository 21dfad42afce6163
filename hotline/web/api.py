"""JSON endpoints under ``/api``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlmodel import col, select

from hotline.cases import case_json, get_case, list_cases, load_views
from hotline.errors import HotlineError, NotFound
from hotline.store.tables import Job, JobStatus

if TYPE_CHECKING:
    from hotline.service import Hotline


def _core(request: web.Request) -> Hotline:
    from hotline.web.app import CORE

    return request.app[CORE]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def health(request: web.Request) -> web.Response:
    """Database, evidence store free space, job backlog and failed jobs."""
    core = _core(request)
    body: dict[str, Any] = {"status": "ok"}
    try:
        counts = await core.queue.counts()
        async with core.db.session() as s:
            failed = (
                await s.exec(
                    select(Job)
                    .where(col(Job.status) == JobStatus.FAILED)
                    .order_by(col(Job.id).desc())
                    .limit(20)
                )
            ).all()
        body["database"] = {"ok": True}
        body["jobs"] = {
            "queued": counts.get(JobStatus.QUEUED, 0),
            "running": counts.get(JobStatus.RUNNING, 0),
            "failed": counts.get(JobStatus.FAILED, 0),
            "done": counts.get(JobStatus.DONE, 0),
            "failed_jobs": [
                {"id": j.id, "kind": j.kind, "case_id": j.case_id, "error": j.last_error}
                for j in failed
            ],
        }
    except HotlineError as exc:
        body["status"] = "error"
        body["database"] = {"ok": False, "error": str(exc)}
    except Exception as exc:  # the database driver's own errors
        body["status"] = "error"
        body["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    free = core.store.free_bytes()
    body["evidence"] = {"path": str(core.store.root), "free_bytes": free}
    if body.get("jobs", {}).get("failed"):
        body["status"] = "degraded" if body["status"] == "ok" else body["status"]
    return web.json_response(body, status=200 if body["status"] != "error" else 503)


async def cases_index(request: web.Request) -> web.Response:
    core = _core(request)
    try:
        limit = min(500, max(1, int(request.query.get("limit", "100"))))
        offset = max(0, int(request.query.get("offset", "0")))
    except ValueError:
        return _error(400, "limit and offset must be integers")
    async with core.db.session() as s:
        cases = await list_cases(s, limit=limit, offset=offset, status=request.query.get("status"))
        views = await load_views(s, cases)
    return web.json_response({"cases": [case_json(v) for v in views]})


async def case_detail(request: web.Request) -> web.Response:
    core = _core(request)
    async with core.db.session() as s:
        try:
            case = await get_case(s, request.match_info["id"])
        except NotFound as exc:
            return _error(404, str(exc))
        (view,) = await load_views(s, [case])
    return web.json_response(case_json(view))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/cases", cases_index)
    app.router.add_get("/api/cases/{id}", case_detail)
