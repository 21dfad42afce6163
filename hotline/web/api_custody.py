"""A case's confidentiality under ``/api/cases/{id}``: the level (set by the head with a
reason) and the handlers assigned to a ``state`` case."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission
from hotline.custody import access
from hotline.store.tables import Case
from hotline.web.api_cases import CASE_ID, CASE_READERS
from hotline.web.present import load_case
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas_custody import AssigneeIn, AssigneeOut, CustodyOut, LevelIn

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
