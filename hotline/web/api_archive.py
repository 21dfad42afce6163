"""Long-term keeping under ``/api``: a case's preservation flag (marked by handlers,
lifted by the head) and the retention report."""

from __future__ import annotations

from datetime import datetime

from hotline.archive import preservation, retention
from hotline.auth.roles import Permission
from hotline.cases import preservation_json
from hotline.custody.access import visible_clause
from hotline.web.api_cases import CASE_ID
from hotline.web.present import load_case
from hotline.web.routing import Api, Ctx
from hotline.web.schemas import (
    LiftIn,
    PreservationIn,
    PreservationOut,
    PreservationStateOut,
    RetentionOut,
    RetentionQuery,
)

routes = Api()


def _state(number: str, flag: dict[str, object] | None, changed: bool) -> PreservationStateOut:
    return PreservationStateOut(
        number=number,
        preservation=PreservationOut.model_validate(flag) if flag else None,
        changed=changed,
    )


@routes.route(
    "POST",
    "/api/cases/{id}/preservation",
    summary="Flag a case for long-term preservation",
    tag="archive",
    allow={Permission.PRESERVATION_MARK},
    body=PreservationIn,
    response=PreservationStateOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="Art. 20: one of the four reasons (`other` with a note). An audit event "
    "(`case.preservation_marked`); a flagged case can be given another reason, and only "
    "the head lifts the flag.",
)
async def mark_preservation(ctx: Ctx) -> PreservationStateOut:
    form = await ctx.body(PreservationIn)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        changed = await preservation.mark(
            s, view.case, form.reason, form.note, actor=ctx.user.actor, outbox=ctx.core.outbox
        )
        return _state(view.case.number, preservation_json(view.case), changed)


@routes.route(
    "POST",
    "/api/cases/{id}/preservation/lift",
    summary="Lift a case's long-term preservation flag",
    tag="archive",
    allow={Permission.PRESERVATION_LIFT},
    body=LiftIn,
    response=PreservationStateOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="The head's decision, with a reason kept in the audit trail "
    "(`case.preservation_lifted`). A case that is not flagged is refused (400).",
)
async def lift_preservation(ctx: Ctx) -> PreservationStateOut:
    form = await ctx.body(LiftIn)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        await preservation.lift(
            s, view.case, form.reason, actor=ctx.user.actor, outbox=ctx.core.outbox
        )
        return _state(view.case.number, None, True)


async def retention_report(ctx: Ctx, query: RetentionQuery) -> RetentionOut:
    settings = ctx.core.settings
    today = query.today or datetime.now(settings.tz).date()
    async with ctx.core.db.session() as s:
        report = await retention.report(s, settings, today, query.within, visible_clause(ctx.user))
    return RetentionOut.model_validate(report.to_dict())


@routes.route(
    "GET",
    "/api/retention",
    summary="The retention report",
    tag="archive",
    allow={Permission.AUDIT_READ},
    query=RetentionQuery,
    response=RetentionOut,
    description="Art. 19: cases whose retention period ended (`due`), ends within "
    "`within` days (`soon`), and cases preserved long-term (never due). It only informs: "
    "nothing in hotline deletes evidence.",
)
async def retention_index(ctx: Ctx) -> RetentionOut:
    return await retention_report(ctx, ctx.query(RetentionQuery))
