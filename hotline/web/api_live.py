"""Calls as they happen: the live calls, the intake form attached to one, and the
server-sent event stream that keeps the operators' and handlers' pages current."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from hotline import notes
from hotline.auth import sessions, tokens
from hotline.auth.roles import Permission, Principal, Role
from hotline.casework import IntakeFields
from hotline.custody.access import may_see_id
from hotline.live import Update
from hotline.phone import mask
from hotline.store.casework import CallIntake
from hotline.store.tables import Call, Case
from hotline.store.types import utcnow
from hotline.web.keys import BEARER, STREAMS
from hotline.web.present import owns
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas import IntakeOut, LiveCallOut, LiveCallsOut

log = logging.getLogger(__name__)

routes = Api()

CALL_ID = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^/]+$"}


def _call_out(data: dict[str, Any], principal: Principal, intake: IntakeOut | None) -> LiveCallOut:
    full = principal.can(Permission.LIVE_CALLER)
    return LiveCallOut.model_validate(
        {
            **data,
            "caller": data["caller"] if full else mask(str(data["caller"])),
            "caller_masked": not full,
            "intake": intake,
        }
    )


def _intake_out(row: CallIntake, *, fields: bool = True) -> IntakeOut:
    return IntakeOut(
        call_id=row.call_ref,
        operator=row.operator,
        fields=dict(row.fields) if fields else {},
        case_id=row.case_id,
    )


@routes.route(
    "GET",
    "/api/calls/live",
    summary="Calls in progress",
    tag="live",
    allow={Permission.LIVE_READ},
    response=LiveCallsOut,
    description="With whether each is being recorded (`unrecorded`: answered and not "
    "recorded, the state nobody may miss) and the intake form attached to it.",
)
async def live_calls(ctx: Ctx) -> LiveCallsOut:
    calls = ctx.core.live.calls()
    intakes: dict[str, IntakeOut] = {}
    if calls and ctx.user.can(Permission.INTAKE_WRITE):
        async with ctx.core.db.session() as s:
            rows = (
                await s.exec(
                    select(CallIntake).where(
                        col(CallIntake.call_ref).in_([str(c["call_id"]) for c in calls])
                    )
                )
            ).all()
        me = ctx.user.username or ctx.user.actor
        # Who is taking each call, for every operator; what the form says (the reporter's
        # name and contact among it), only for the one taking it.
        intakes = {
            r.call_ref: _intake_out(r) if r.operator == me else _intake_out(r, fields=False)
            for r in rows
        }
    return LiveCallsOut(
        now=utcnow(),
        calls=[_call_out(c, ctx.user, intakes.get(str(c["call_id"]))) for c in calls],
    )


async def _known_call(ctx: Ctx, call_ref: str) -> None:
    if ctx.core.live.knows(call_ref):
        return
    async with ctx.core.db.session() as s:
        found = (await s.exec(select(Call.id).where(col(Call.external_id) == call_ref))).first()
    if found is None:
        raise ApiError(404, "no such call")


@routes.route(
    "GET",
    "/api/calls/{call_id}/intake",
    summary="The intake form attached to a call",
    tag="live",
    allow={Permission.INTAKE_WRITE},
    response=IntakeOut,
    errors=(403, 404),
    path_params={"call_id": CALL_ID},
)
async def get_intake(ctx: Ctx) -> IntakeOut:
    saved = await notes.load(ctx.core.db, ctx.path("call_id"))
    if saved is None:
        raise ApiError(404, "nothing saved for this call yet")
    if saved.operator != (ctx.user.username or ctx.user.actor) and ctx.user.role != Role.ADMIN:
        # The form names the reporter: only the operator who took the call reads it.
        raise ApiError(403, "another operator is taking this call")
    return IntakeOut(
        call_id=saved.call_ref, operator=saved.operator, fields=saved.fields, case_id=saved.case_id
    )


@routes.route(
    "PUT",
    "/api/calls/{call_id}/intake",
    summary="Save the intake form of a call",
    tag="live",
    allow={Permission.INTAKE_WRITE},
    body=IntakeFields,
    response=IntakeOut,
    errors=(404, 409),
    path_params={"call_id": CALL_ID},
    description="Kept by the call until its case opens (when the recording is sealed), "
    "then copied onto the case; saved after that, it goes onto the case directly. The "
    "first operator to save takes the call.",
)
async def put_intake(ctx: Ctx) -> IntakeOut:
    form = await ctx.body(IntakeFields)
    call_ref = ctx.path("call_id")
    await _known_call(ctx, call_ref)
    try:
        saved = await notes.save(
            ctx.core.db,
            call_ref,
            form,
            operator=ctx.user.username or ctx.user.actor,
            actor=ctx.user.actor,
            outbox=ctx.core.outbox,
            may_take_over=ctx.user.role == Role.ADMIN,
        )
    except notes.IntakeTaken as exc:
        raise ApiError(409, str(exc)) from None
    if saved.case_id is not None:
        ctx.core.live.publish("case", {"id": saved.case_id, "changed": "intake"})
    return IntakeOut(
        call_id=saved.call_ref, operator=saved.operator, fields=saved.fields, case_id=saved.case_id
    )


# --- server-sent events ----------------------------------------------------------------


def _visible(update: Update, principal: Principal) -> dict[str, Any] | None:
    """What of an update this principal may receive (``None``: nothing)."""
    if update.event == "call":
        if not principal.can(Permission.LIVE_READ):
            return None
        data = dict(update.data)
        if not principal.can(Permission.LIVE_CALLER):
            data["caller"] = mask(str(data.get("caller", "")))
        data["caller_masked"] = not principal.can(Permission.LIVE_CALLER)
        return data
    if update.event == "case":
        # Ids and statuses only; what a case holds is fetched with its own checks.
        if principal.can_any(Permission.CASES_READ, Permission.CASES_READ_OWN):
            return {k: v for k, v in update.data.items() if k in {"id", "number", "status"}}
        return None
    return None


async def _may_hear(core: Any, principal: Principal, case_id: int) -> bool:
    """Whether a case's updates reach this principal: an operator hears of the cases of
    the calls they took only; no one of a state case they are not assigned to."""
    if not principal.can(Permission.CASES_READ):
        async with core.db.session() as s:
            case = await s.get(Case, case_id)
        if case is None or not owns(principal, case):
            return False
    return await may_see_id(core.db, principal, case_id)


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


async def _still_allowed(ctx: Ctx) -> bool:
    principal = ctx.user
    if principal.session_id is not None:
        return await sessions.still_valid(ctx.core.db, principal.session_id, ctx.core.settings)
    bearer = ctx.request.get(BEARER)
    if not isinstance(bearer, str):
        return False
    return await tokens.resolve(ctx.core.db, bearer) is not None


@routes.route(
    "GET",
    "/api/events",
    summary="Server-sent events: live calls and case changes",
    tag="live",
    allow={Permission.LIVE_READ, Permission.CASES_READ, Permission.CASES_READ_OWN},
    media={"text/event-stream": {"schema": {"type": "string"}}},
    description="`snapshot` first (the live calls), then `call` (a live call changed) "
    "and `case` (a case opened or changed: id, number, status). A comment every 15 s "
    "keeps proxies from closing the stream; the stream ends when the session does.",
)
async def events(ctx: Ctx) -> web.StreamResponse:
    streams = ctx.request.app[STREAMS]
    core = ctx.core
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(ctx.request)
    updates = core.live.subscribe()

    async def next_update() -> Update:
        return await anext(updates)

    closing = asyncio.create_task(streams.closing.wait(), name="sse-closing")
    # Subscribe before taking the snapshot, so no change falls between the two.
    pending: asyncio.Task[Update] | None = asyncio.create_task(next_update(), name="sse-next")
    await asyncio.sleep(0)
    streams.open += 1
    try:
        snapshot: dict[str, Any] = {"now": utcnow().isoformat(), "calls": []}
        if ctx.user.can(Permission.LIVE_READ):
            calls = await live_calls(ctx)
            assert isinstance(calls, LiveCallsOut)
            snapshot = calls.model_dump(mode="json")
        await response.write(b"retry: 3000\n\n" + _frame("snapshot", snapshot))
        while not streams.closing.is_set():
            if pending is None:
                pending = asyncio.create_task(next_update(), name="sse-next")
            done, _ = await asyncio.wait(
                {pending, closing},
                timeout=streams.keepalive_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if pending in done:
                update = pending.result()
                pending = None
                data = _visible(update, ctx.user)
                if (
                    data is not None
                    and update.event == "case"
                    and not await _may_hear(core, ctx.user, int(data.get("id") or 0))
                ):
                    data = None  # not theirs: another operator's, or a state case
                if data is not None:
                    await response.write(_frame(update.event, data, update.id))
            elif closing in done:
                break
            else:
                if not await _still_allowed(ctx):
                    await response.write(_frame("signed-out", {}))
                    break
                await response.write(b": keep-alive\n\n")
    except (ConnectionError, RuntimeError):
        pass  # the client went away
    finally:
        streams.open -= 1
        closing.cancel()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        closer = getattr(updates, "aclose", None)  # an async generator: end it now
        if closer is not None:
            await closer()
    return response
