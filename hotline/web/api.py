"""JSON endpoints under ``/api``: health, the OpenAPI document, signing in and out,
and the signed-in user's own account."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hotline.auth import sessions, users
from hotline.auth.roles import Permission
from hotline.checkpointing import latest_checkpoint
from hotline.errors import HotlineError, LoginRefused, LoginThrottled
from hotline.store.accounts import User
from hotline.store.tables import Incident, Job, JobStatus
from hotline.store.types import utcnow
from hotline.web.keys import OPENAPI
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas import (
    AccountIn,
    HealthOut,
    LoginIn,
    OkOut,
    PasswordIn,
    SessionOut,
    UserOut,
)
from hotline.web.security import SESSION_COOKIE, cookie_is_secure

if TYPE_CHECKING:
    from hotline.service import Hotline

routes = Api()


async def _recent_incidents(core: Hotline) -> dict[str, Any]:
    since = utcnow() - timedelta(hours=24)
    async with core.db.session() as s:
        rows = (
            await s.exec(
                select(Incident)
                .where(col(Incident.at) >= since)
                .order_by(col(Incident.id).desc())
                .limit(20)
            )
        ).all()
        count = (
            await s.exec(
                select(func.count()).select_from(Incident).where(col(Incident.at) >= since)
            )
        ).one()
    return {
        "count": int(count),
        "recent": [
            {
                "id": i.id,
                "kind": i.kind,
                "at": i.at.isoformat(),
                "detail": i.detail,
                "case_id": i.case_id,
            }
            for i in rows
        ],
    }


async def _checkpoints(core: Hotline) -> dict[str, Any]:
    async with core.db.session() as s:
        newest = await latest_checkpoint(s)
    return {
        "interval_seconds": core.settings.checkpoint_interval_seconds,
        "timestamp_authority": core.settings.tsa_url,
        "newest": None
        if newest is None
        else {
            "event_seq": newest.event_seq,
            "seq": newest.checkpoint.seq,
            "hash": newest.checkpoint.hash,
            "at": newest.checkpoint.at.isoformat(),
        },
    }


@routes.route(
    "GET",
    "/api/health",
    summary="Is the service well",
    tag="service",
    allow="public",
    response=HealthOut,
    errors=(503,),
)
async def health(ctx: Ctx) -> web.Response:
    """Anyone gets the status; signed-in callers allowed to see metrics get the details
    (database, job backlog with the failed jobs' errors, evidence store space, the call
    sources, incidents of the last 24 hours). ``degraded`` when any of those needs a
    look (art. 10: faults are reported)."""
    core = ctx.core
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
    except (SQLAlchemyError, OSError) as exc:  # the database driver's own errors
        body["status"] = "error"
        body["database"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    free = core.store.free_bytes()
    low = free < core.settings.evidence_min_free_mb * 1024 * 1024
    body["evidence"] = {"path": str(core.store.root), "free_bytes": free, "low": low}
    body["sources"] = {source.name: source.health() for source in core.sources}
    body["node"] = {
        "id": core.node_id,
        "relay": core.relay.health() if core.relay is not None else None,
    }
    body["signing_key"] = {
        "algorithm": "Ed25519",
        "fingerprint": core.key.fingerprint,
        "public_key": core.key.public.pem().decode(),
    }
    if body["database"]["ok"]:
        body["incidents"] = await _recent_incidents(core)
        body["checkpoints"] = await _checkpoints(core)
    troubled = (
        body.get("jobs", {}).get("failed")
        or low
        or not all(s.get("ok") for s in body["sources"].values())
        or body.get("incidents", {}).get("count")
    )
    if troubled and body["status"] == "ok":
        body["status"] = "degraded"
    principal = ctx.principal
    if principal is None or not principal.can(Permission.METRICS_READ):
        body = {"status": body["status"]}
    out = HealthOut.model_validate(body)
    return web.Response(
        text=out.model_dump_json(exclude_none=True),
        status=503 if out.status == "error" else 200,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@routes.route(
    "GET",
    "/api/openapi.json",
    summary="This document",
    tag="service",
    allow="public",
    media={"application/json": {"schema": {"type": "object"}}},
)
async def openapi(ctx: Ctx) -> web.Response:
    return web.json_response(ctx.request.app[OPENAPI])


def _session_out(ctx: Ctx, user: User | None) -> SessionOut:
    principal = ctx.user
    return SessionOut(
        kind="user" if principal.kind == "user" else "token",
        user=UserOut.model_validate(user, from_attributes=True) if user else None,
        role=principal.role.value,
        roles=sorted(r.value for r in principal.roles),
        permissions=sorted(p.value for p in principal.permissions),
        csrf_token=principal.csrf_token,
    )


@routes.route(
    "POST",
    "/api/session",
    summary="Sign in",
    tag="session",
    allow="public",
    body=LoginIn,
    response=SessionOut,
    errors=(401, 429),
    description="Sets the HttpOnly session cookie; returns the CSRF token to send with "
    "unsafe requests. Wrong passwords are rate limited per user name and address.",
)
async def sign_in(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.body(LoginIn)
    core = ctx.core
    ip = ctx.request.remote or ""
    try:
        user = await users.authenticate(
            core.db, form.username, form.password, ip=ip, limit=core.settings.login_max_failures
        )
    except LoginThrottled as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    except LoginRefused as exc:
        raise ApiError(401, str(exc)) from None
    new = await sessions.start(
        core.db,
        user,
        core.settings,
        ip=ip,
        user_agent=ctx.request.headers.get("User-Agent", ""),
    )
    ctx.principal = new.principal
    body = _session_out(ctx, user)
    response = web.Response(
        text=body.model_dump_json(),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
    set_session_cookie(ctx.request, response, new.cookie)
    return response


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="Lax",
        secure=cookie_is_secure(request),
        path="/",
    )


@routes.route(
    "GET",
    "/api/session",
    summary="Who am I",
    tag="session",
    allow="signed-in",
    response=SessionOut,
)
async def whoami(ctx: Ctx) -> SessionOut:
    user = None
    if ctx.user.kind == "user":
        async with ctx.core.db.session() as s:
            user = await s.get(User, ctx.user.id)
    return _session_out(ctx, user)


@routes.route(
    "DELETE",
    "/api/session",
    summary="Sign out",
    tag="session",
    allow="signed-in",
    response=OkOut,
)
async def sign_out(ctx: Ctx) -> web.StreamResponse:
    await sessions.end(ctx.core.db, ctx.user)
    response = web.Response(text=OkOut().model_dump_json(), content_type="application/json")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _person(ctx: Ctx) -> int:
    if ctx.user.kind != "user":
        raise ApiError(403, "API tokens have no account settings")
    return ctx.user.id


@routes.route(
    "PATCH",
    "/api/account",
    summary="My language",
    tag="session",
    allow="signed-in",
    body=AccountIn,
    response=OkOut,
)
async def account(ctx: Ctx) -> OkOut:
    form = await ctx.body(AccountIn)
    await users.set_language(ctx.core.db, _person(ctx), form.language)
    return OkOut()


@routes.route(
    "POST",
    "/api/account/password",
    summary="Change my password",
    tag="session",
    allow="signed-in",
    body=PasswordIn,
    response=OkOut,
    errors=(409,),
)
async def change_password(ctx: Ctx) -> OkOut:
    form = await ctx.body(PasswordIn)
    try:
        await users.change_password(
            ctx.core.db, _person(ctx), form.current_password, form.new_password
        )
    except LoginRefused as exc:
        raise ApiError(409, str(exc)) from None
    return OkOut()
