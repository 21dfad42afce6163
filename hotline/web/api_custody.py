"""A case's confidentiality under ``/api/cases/{id}``: the level (set by the head with a
reason), the handlers assigned to a ``state`` case, and the terms marked for redaction
in its copies."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission
from hotline.cases import CaseView, transcript_json
from hotline.custody import access, marks
from hotline.custody.marks import MarkForm
from hotline.store.tables import Case
from hotline.web.api_cases import CASE_ID, CASE_READERS
from hotline.web.present import load_case, may_read_content
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas_custody import (
    AssigneeIn,
    AssigneeOut,
    CustodyOut,
    LevelIn,
    MarkOut,
    MarksOut,
)

routes = Api()

USERNAME = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{1,63}$"}


async def _out(s: AsyncSession, case: Case) -> CustodyOut:
    rows = await access.assignees(s, case.id or 0)
    return CustodyOut(
        level=case.confidentiality,
        assignees=[
            AssigneeOut(username=r.username, assigned_by=r.assigned_by, assigned_at=r.assigned_at)
            for r in rows
        ],
    )


def _person(ctx: Ctx) -> None:
    if ctx.user.kind != "user":
        raise ApiError(403, "a person does this, not an API token")


@routes.route(
    "GET",
    "/api/cases/{id}/confidentiality",
    summary="The case's confidentiality level and assigned handlers",
    tag="custody",
    allow=CASE_READERS,
    response=CustodyOut,
    errors=(404,),
    path_params={"id": CASE_ID},
)
async def custody(ctx: Ctx) -> CustodyOut:
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        return await _out(s, view.case)


@routes.route(
    "PUT",
    "/api/cases/{id}/confidentiality",
    summary="Set the case's confidentiality level (the head, with a reason)",
    tag="custody",
    allow={Permission.CONFIDENTIALITY_SET},
    body=LevelIn,
    response=CustodyOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="An audited act (`case.confidentiality_set`: from, to, reason). A "
    "`state` case is then seen only by the head and the handlers assigned to it.",
)
async def set_confidentiality(ctx: Ctx) -> CustodyOut:
    form = await ctx.body(LevelIn)
    _person(ctx)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        await access.set_level(
            s,
            view.case,
            form.level,
            reason=form.reason,
            actor=ctx.user.actor,
            outbox=ctx.core.outbox,
        )
        out = await _out(s, view.case)
    ctx.core.live.publish("case", {"id": view.case.id, "changed": "confidentiality"})
    return out


@routes.route(
    "POST",
    "/api/cases/{id}/assignees",
    summary="Assign a handler to the case (sees it even at level state)",
    tag="custody",
    allow={Permission.CONFIDENTIALITY_SET},
    body=AssigneeIn,
    response=CustodyOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="An audited act (`case.assigned`).",
)
async def assign(ctx: Ctx) -> CustodyOut:
    form = await ctx.body(AssigneeIn)
    _person(ctx)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        await access.assign(s, view.case, form.username, actor=ctx.user.actor)
        return await _out(s, view.case)


@routes.route(
    "DELETE",
    "/api/cases/{id}/assignees/{username}",
    summary="End a handler's assignment to the case",
    tag="custody",
    allow={Permission.CONFIDENTIALITY_SET},
    response=CustodyOut,
    errors=(404,),
    path_params={"id": CASE_ID, "username": USERNAME},
    description="An audited act (`case.unassigned`); the assignment is kept with its end.",
)
async def unassign(ctx: Ctx) -> CustodyOut:
    _person(ctx)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        if not await access.unassign(s, view.case, ctx.path("username"), actor=ctx.user.actor):
            raise ApiError(404, f"{ctx.path('username')} is not assigned to this case")
        return await _out(s, view.case)


MARK_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}


async def _marked_case(ctx: Ctx, s: AsyncSession) -> tuple[CaseView, list[str]]:
    """The case, for those who may read its transcript; and the transcript's texts."""
    view = await load_case(s, ctx.user, ctx.path("id"))
    if not may_read_content(ctx.user, view.case):
        raise ApiError(403, "marks are made on the transcript, which this role may not read")
    body = transcript_json(view)
    return view, [seg["text"] for seg in body["segments"]] if body else []


@routes.route(
    "GET",
    "/api/cases/{id}/redaction-marks",
    summary="Terms marked for redaction in the case's copies",
    tag="custody",
    allow={Permission.COPIES_REQUEST},
    response=MarksOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="Withdrawn marks too (`active`: false), with how often the latest "
    "transcript has each term.",
)
async def redaction_marks(ctx: Ctx) -> MarksOut:
    async with ctx.core.db.session() as s:
        view, texts = await _marked_case(ctx, s)
        rows = await marks.listing(s, view.case.id or 0)
    return MarksOut(marks=[MarkOut.model_validate(marks.as_json(r, texts)) for r in rows])


@routes.route(
    "POST",
    "/api/cases/{id}/redaction-marks",
    summary="Mark a term of the transcript for redaction in copies",
    tag="custody",
    allow={Permission.COPIES_REQUEST},
    body=MarkForm,
    response=MarkOut,
    status=201,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="Redacted (text and audio) in every copy issued from now on, like the "
    "personal data found by itself. Marking a term that is marked already gives that "
    "mark back. An audit event (`redaction.marked`) that does not hold the term.",
)
async def mark_term(ctx: Ctx) -> MarkOut:
    form = await ctx.body(MarkForm)
    async with ctx.core.db.session() as s:
        view, texts = await _marked_case(ctx, s)
        row, _made = await marks.mark(s, view.case, form, actor=ctx.user.actor)
        return MarkOut.model_validate(marks.as_json(row, texts))


@routes.route(
    "DELETE",
    "/api/cases/{id}/redaction-marks/{mark}",
    summary="Withdraw a redaction mark",
    tag="custody",
    allow={Permission.COPIES_REQUEST},
    response=MarkOut,
    errors=(404,),
    path_params={"id": CASE_ID, "mark": MARK_ID},
    description="Kept, with who withdrew it and when; copies issued after leave the term "
    "alone. An audit event (`redaction.withdrawn`).",
)
async def withdraw_mark(ctx: Ctx) -> MarkOut:
    async with ctx.core.db.session() as s:
        view, texts = await _marked_case(ctx, s)
        mark = ctx.path("mark")
        if not (mark.isascii() and mark.isdecimal() and len(mark) <= 18):
            raise ApiError(404, f"no redaction mark {mark[:40]} on this case")
        row = await marks.withdraw(s, view.case, int(mark), actor=ctx.user.actor)
        return MarkOut.model_validate(marks.as_json(row, texts))
