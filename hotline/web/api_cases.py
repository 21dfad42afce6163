"""Cases under ``/api/cases``: list and search, one case, edits, unmasking, history;
and the audit trail under ``/api/audit``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission, Principal
from hotline.cases import CaseView, list_cases, load_views
from hotline.casework import CaseUpdate, apply_changes
from hotline.custody.access import visible_clause
from hotline.evidence.audit import append_audit
from hotline.search import matching, parse_query
from hotline.store.tables import AuditEvent, Case, CaseStatus
from hotline.web.audit_words import lookup_for, worded
from hotline.web.keys import CATALOGS, CORE, SEARCH
from hotline.web.present import detail as case_detail_out
from hotline.web.present import event_details, load_case, summary, transcript_infos
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas import (
    AuditEventOut,
    AuditOut,
    AuditQuery,
    CallerOut,
    CaseListOut,
    CaseOut,
    CasesQuery,
    CaseSummary,
    UnmaskIn,
    UnmaskOut,
)

routes = Api()

CASE_READERS = {Permission.CASES_READ, Permission.CASES_READ_OWN}
CASE_ID = {"type": "string", "pattern": "^([0-9]{1,18}|[A-Za-z][A-Za-z0-9-]{0,31})$"}
"""A case's id (``12``) or number (``HL-2026-000012``)."""


def _local_midnight(day: date, app: web.Application) -> datetime:
    return datetime.combine(day, time(0), tzinfo=app[CORE].settings.tz)


async def query_cases(
    app: web.Application, s: AsyncSession, query: CasesQuery, principal: Principal
) -> tuple[list[CaseSummary], int | None]:
    """The page of cases the filters select, as the principal may see them."""
    where: list[ColumnElement[bool]] = []
    if query.q:
        parsed = parse_query(query.q)
        if parsed.empty:
            return [], None  # punctuation only: nothing can match
        await app[SEARCH].catch_up()
        where.append(await matching(s, parsed))
    hidden = visible_clause(principal)
    if hidden is not None:
        where.append(hidden)
    operator = query.operator
    if not principal.can(Permission.CASES_READ):
        # An operator's own calls only.
        operator = principal.username or "\x00"
        if query.operator and query.operator != operator:
            return [], None
    cases = await _list(s, query, operator, where, app)
    more = len(cases) > query.limit
    cases = cases[: query.limit]
    views = await load_views(s, cases, transcripts=False)
    infos = await transcript_infos(s, [c.id for c in cases if c.id is not None])
    summaries = [summary(v, principal, infos.get(v.case.id or 0)) for v in views]
    return summaries, (cases[-1].id if more and cases else None)


async def _list(
    s: AsyncSession,
    query: CasesQuery,
    operator: str | None,
    where: list[ColumnElement[bool]],
    app: web.Application,
) -> list[Case]:
    return await list_cases(
        s,
        limit=query.limit + 1,
        status=query.status,
        category=query.category,
        operator=operator,
        created_from=_local_midnight(query.since, app) if query.since else None,
        created_until=(
            _local_midnight(query.until + timedelta(days=1), app) if query.until else None
        ),
        before_id=query.before,
        preserved=query.preserved,
        where=where,
    )


@routes.route(
    "GET",
    "/api/cases",
    summary="List and search cases",
    tag="cases",
    allow=CASE_READERS,
    query=CasesQuery,
    response=CaseListOut,
    description="Newest first. `q` searches transcripts, notes and the reported entity; "
    "Chinese needs no spaces (every character pair is indexed). Operators see the "
    "cases of the calls they took.",
)
async def cases_index(ctx: Ctx) -> CaseListOut:
    query = ctx.query(CasesQuery)
    async with ctx.core.db.session() as s:
        cases, next_before = await query_cases(ctx.request.app, s, query, ctx.user)
    return CaseListOut(cases=cases, next_before=next_before)


@routes.route(
    "GET",
    "/api/cases/{id}",
    summary="One case",
    tag="cases",
    allow=CASE_READERS,
    response=CaseOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="With the latest transcript for roles that may read content (an audit "
    "event: `transcript.viewed`). Caller number and reporter are masked unless this "
    "user took the call; see `unmask`.",
)
async def case_detail(ctx: Ctx) -> CaseOut:
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        return await case_detail_out(s, view, ctx.user)


@routes.route(
    "PATCH",
    "/api/cases/{id}",
    summary="Edit a case's fields",
    tag="cases",
    allow={Permission.CASES_WRITE},
    body=CaseUpdate,
    response=CaseOut,
    errors=(404, 409),
    path_params={"id": CASE_ID},
    description="Only the fields sent change. A handler's first edit of a draft takes "
    "it (status `under_review`, `handler` set). Sends `case.updated` to the case system "
    "once the case was forwarded.",
)
async def case_update(ctx: Ctx) -> CaseOut:
    update = await ctx.body(CaseUpdate)
    changes = update.changes()
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        current = view.case.status
        if "status" in changes and current not in (CaseStatus.DRAFT, CaseStatus.UNDER_REVIEW):
            # Forwarded, accepted and rejected come from the case system: a case it has
            # is not made a draft (or under review) again here.
            raise ApiError(
                409,
                f"case {view.case.number} is {current}: its status now comes from the case system",
            )
        await apply_changes(
            s,
            view.case,
            changes,
            actor=ctx.user.actor,
            action="case.updated",
            outbox=ctx.core.outbox,
            handler=ctx.user.username,
        )
        (view,) = await load_views(s, [view.case])
        return await case_detail_out(s, view, ctx.user)


@routes.route(
    "POST",
    "/api/cases/{id}/unmask",
    summary="Reveal the caller's number and the reporter",
    tag="cases",
    allow={Permission.CALLER_UNMASK},
    body=UnmaskIn,
    response=UnmaskOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="An audited act (`caller.unmasked`, with the reason given).",
)
async def unmask(ctx: Ctx) -> UnmaskOut:
    form = await ctx.body(UnmaskIn)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        await append_audit(
            s,
            actor=ctx.user.actor,
            action="caller.unmasked",
            subject=f"case:{view.case.id}",
            case_id=view.case.id,
            details={"reason": form.reason},
        )
    call, case = view.call, view.case
    return UnmaskOut(
        caller=CallerOut(
            number=call.caller_raw, e164=call.caller_e164, name=call.caller_name, masked=False
        ),
        reporter_name=case.reporter_name,
        reporter_contact=case.reporter_contact,
    )


async def _events_out(ctx: Ctx, s: AsyncSession, events: list[AuditEvent], limit: int) -> AuditOut:
    more = len(events) > limit
    events = events[:limit]
    catalogs = ctx.request.app[CATALOGS]
    lang = catalogs.choose(ctx.user.language, ctx.request.headers.get("Accept-Language"))
    said = await worded(s, events, lookup_for(catalogs, lang), event_details)
    return AuditOut(
        events=[
            AuditEventOut(
                seq=w.event.seq,
                at=w.event.at,
                actor=w.event.actor,
                action=w.event.action,
                subject=w.event.subject,
                case_id=w.event.case_id,
                details=w.details,
                text=w.text,
                who=w.who,
            )
            for w in said
        ],
        next_before=events[-1].seq if more and events else None,
    )


async def case_history(s: AsyncSession, view: CaseView, limit: int = 1000) -> list[AuditEvent]:
    """Everything the audit chain says about the case and its call, oldest first."""
    condition: Any = or_(
        col(AuditEvent.case_id) == view.case.id,
        col(AuditEvent.subject) == f"call:{view.call.id}",
    )
    return list(
        (
            await s.exec(
                select(AuditEvent).where(condition).order_by(col(AuditEvent.seq)).limit(limit)
            )
        ).all()
    )


@routes.route(
    "GET",
    "/api/cases/{id}/history",
    summary="The case's history (its audit events)",
    tag="cases",
    allow=CASE_READERS,
    response=AuditOut,
    errors=(404,),
    path_params={"id": CASE_ID},
)
async def history(ctx: Ctx) -> AuditOut:
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        events = await case_history(s, view)
        return await _events_out(ctx, s, events, len(events))


@routes.route(
    "GET",
    "/api/audit",
    summary="The audit trail, newest first",
    tag="audit",
    allow={Permission.AUDIT_READ},
    query=AuditQuery,
    response=AuditOut,
)
async def audit_trail(ctx: Ctx) -> AuditOut:
    query = ctx.query(AuditQuery)
    statement = select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(query.limit + 1)
    if query.action:
        statement = statement.where(col(AuditEvent.action) == query.action)
    if query.actor:
        statement = statement.where(col(AuditEvent.actor) == query.actor)
    if query.case_id:
        statement = statement.where(col(AuditEvent.case_id) == query.case_id)
    if query.before:
        statement = statement.where(col(AuditEvent.seq) < query.before)
    async with ctx.core.db.session() as s:
        events = list((await s.exec(statement)).all())
        return await _events_out(ctx, s, events, query.limit)
