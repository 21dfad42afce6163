"""Copy requests (art. 17) under ``/api/copies`` and ``/api/cases/{id}/copies``: a
handler records one, the head approves or refuses it (never its requester), a handler
issues the copy and downloads it. Every step, and every step refused, is audited."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hotline.auth.roles import Permission
from hotline.custody import copies
from hotline.custody.access import may_see
from hotline.custody.copies import CopyRequestForm
from hotline.custody.requests import Step
from hotline.errors import CopyRefused
from hotline.evidence.audit import append_audit
from hotline.evidence.files import sha256_file
from hotline.store.custody import CopyRequest
from hotline.store.tables import Case
from hotline.web.api_cases import CASE_ID
from hotline.web.present import load_case
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas_custody import (
    CopiesQuery,
    CopyListOut,
    CopyRequestOut,
    DecisionIn,
)

routes = Api()

COPY_ID = {"type": "string", "pattern": "^([0-9]{1,18}|[A-Za-z][A-Za-z0-9-]{0,47})$"}
"""A request's id (``7``) or copy number (``HL-2026-000123-C02``)."""
COPY_WORK = {Permission.COPIES_REQUEST, Permission.COPIES_APPROVE}


def _out(row: CopyRequest, case: Case) -> CopyRequestOut:
    return CopyRequestOut.model_validate(copies.Listed(row, case.number).json())


async def _refused(ctx: Ctx, step: Step, exc: CopyRefused) -> ApiError:
    await copies.record_denial(ctx.core.db, ctx.path("req"), step, by=ctx.user, reason=str(exc))
    return ApiError(exc.status, str(exc))


@routes.route(
    "GET",
    "/api/copies",
    summary="Copy requests, newest first",
    tag="copies",
    allow=COPY_WORK,
    query=CopiesQuery,
    response=CopyListOut,
    description="The party's ID number is masked in every listing. Requests on `state` "
    "cases appear only to those who may see the case.",
)
async def copies_index(ctx: Ctx) -> CopyListOut:
    query = ctx.query(CopiesQuery)
    async with ctx.core.db.session() as s:
        rows = await copies.listing(s, case_id=query.case_id, status=query.status)
        out = []
        for item in rows:
            case = await s.get(Case, item.row.case_id)
            if case is not None and await may_see(s, ctx.user, case):
                out.append(_out(item.row, case))
    return CopyListOut(requests=out)


@routes.route(
    "POST",
    "/api/cases/{id}/copies",
    summary="Record a party's request for a copy",
    tag="copies",
    allow={Permission.COPIES_REQUEST},
    body=CopyRequestForm,
    response=CopyRequestOut,
    status=201,
    errors=(404, 409),
    path_params={"id": CASE_ID},
    description="Redacted unless `full` (with `full_reason`). An audit event "
    "(`copy.requested`); the head decides next.",
)
async def request_copy(ctx: Ctx) -> CopyRequestOut:
    form = await ctx.body(CopyRequestForm)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        try:
            row = await copies.create(s, view.case, form, by=ctx.user)
        except CopyRefused as exc:
            raise ApiError(exc.status, str(exc)) from None
        return _out(row, view.case)


async def _load(ctx: Ctx) -> tuple[CopyRequest, Case]:
    async with ctx.core.db.session() as s:
        row, case = await copies.get(s, ctx.path("req"))
        await load_case(s, ctx.user, str(case.id))  # 404 for a state case not theirs
    return row, case


@routes.route(
    "GET",
    "/api/copies/{req}",
    summary="One copy request",
    tag="copies",
    allow=COPY_WORK,
    response=CopyRequestOut,
    errors=(404,),
    path_params={"req": COPY_ID},
)
async def copy_detail(ctx: Ctx) -> CopyRequestOut:
    return _out(*await _load(ctx))


async def _decide(ctx: Ctx, step: Step) -> CopyRequestOut:
    form = await ctx.body(DecisionIn)
    await _load(ctx)
    try:
        async with ctx.core.db.session() as s:
            row, case = await copies.get(s, ctx.path("req"))
            await copies.decide(s, row, case, step, by=ctx.user, comment=form.comment)
            return _out(row, case)
    except CopyRefused as exc:
        raise await _refused(ctx, step, exc) from None


_DECISION = {
    "allow": {Permission.COPIES_APPROVE},
    "body": DecisionIn,
    "response": CopyRequestOut,
    "errors": (404, 409),
    "path_params": {"req": COPY_ID},
}


@routes.route(
    "POST",
    "/api/copies/{req}/approve",
    summary="Approve a copy request (the head; never its requester)",
    tag="copies",
    description="Not for a `state` case, nor a full copy of a `commercial` one. An audit "
    "event (`copy.approved`); a refused attempt is one too (`copy.denied`).",
    **_DECISION,  # type: ignore[arg-type]
)
async def approve_copy(ctx: Ctx) -> CopyRequestOut:
    return await _decide(ctx, Step.APPROVE)


@routes.route(
    "POST",
    "/api/copies/{req}/refuse",
    summary="Refuse a copy request, saying why",
    tag="copies",
    description="An audit event (`copy.refused`).",
    **_DECISION,  # type: ignore[arg-type]
)
async def refuse_copy(ctx: Ctx) -> CopyRequestOut:
    return await _decide(ctx, Step.REFUSE)


@routes.route(
    "POST",
    "/api/copies/{req}/revoke",
    summary="Revoke an approved or issued copy, saying why",
    tag="copies",
    description="The copy can no longer be downloaded; it is kept. An audit event "
    "(`copy.revoked`).",
    **_DECISION,  # type: ignore[arg-type]
)
async def revoke_copy(ctx: Ctx) -> CopyRequestOut:
    return await _decide(ctx, Step.REVOKE)


@routes.route(
    "POST",
    "/api/copies/{req}/issue",
    summary="Make the approved copy (a signed ZIP)",
    tag="copies",
    allow={Permission.COPIES_REQUEST},
    response=CopyRequestOut,
    errors=(404, 409),
    path_params={"req": COPY_ID},
    description="Only once approved. An audit event (`copy.issued`, with the ZIP's "
    "SHA-256); trying earlier is refused and audited (`copy.denied`).",
)
async def issue_copy(ctx: Ctx) -> CopyRequestOut:
    await _load(ctx)
    try:
        issued = await ctx.core.copies.issue(ctx.path("req"), by=ctx.user)
    except CopyRefused as exc:
        raise await _refused(ctx, Step.ISSUE, exc) from None
    async with ctx.core.db.session() as s:
        row, case = await copies.get(s, issued.row.id or 0)
    return _out(row, case)


@routes.route(
    "GET",
    "/api/copies/{req}/download",
    summary="Download an issued copy (ZIP)",
    tag="copies",
    allow={Permission.COPIES_REQUEST},
    media={"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    errors=(404, 409),
    path_params={"req": COPY_ID},
    description="An audit event (`copy.downloaded`). The ZIP is checked against the "
    "SHA-256 recorded when it was issued.",
)
async def download_copy(ctx: Ctx) -> web.StreamResponse:
    row, case = await _load(ctx)
    try:
        await copies.check(row, case, Step.DOWNLOAD, ctx.user)
    except CopyRefused as exc:
        raise await _refused(ctx, Step.DOWNLOAD, exc) from None
    path = ctx.core.copies.path_of(row)
    try:
        digest, _ = await asyncio.to_thread(sha256_file, path)
    except OSError:
        digest = ""
    if digest != row.zip_sha256:
        raise ApiError(409, f"{row.zip_name} is missing or changed since it was issued")
    async with ctx.core.db.session() as s:
        await append_audit(
            s,
            actor=ctx.user.actor,
            action="copy.downloaded",
            subject=f"copy:{row.id}",
            case_id=case.id,
            details={"number": row.number, "zip_sha256": row.zip_sha256},
        )
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{row.zip_name}"',
            "Cache-Control": "no-store",
        },
    )
