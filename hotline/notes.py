"""The intake form an operator fills in during a live call, and how it reaches the case.

The draft case only opens when the call's recording is sealed (usually at hang-up),
but the operator types while the caller talks. So the form is kept by the call
(``call_intakes``, keyed by the source's call id) and copied onto the case in the
transaction that opens it (``apply_pending``, called by ``hotline.intake``). A form
saved once the case exists goes straight onto the case.

May import: ``hotline.casework``, ``hotline.store``, ``hotline.evidence``,
``hotline.webhooks.outbox``, ``hotline.errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.casework import IntakeFields, apply_changes, audit_details
from hotline.errors import InputError
from hotline.evidence.audit import append_audit
from hotline.store.casework import CallIntake
from hotline.store.db import Database
from hotline.store.tables import Call, Case
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox


class IntakeTaken(InputError):
    """Another operator's form is already attached to this call."""


class IntakeClosed(IntakeTaken):
    """The call is no longer open to an operator who has not taken it."""


AFTER_THE_CALL = timedelta(minutes=15)
"""How long after a call ends an operator who has not saved its form yet may still take
it (the caller hung up before the notes were saved). After that, and for an imported
recording, which no operator took, the case is worked on from its page: otherwise any
operator could take any case whose call has no form, and see its caller."""


@dataclass(frozen=True, slots=True)
class SavedIntake:
    call_ref: str
    operator: str
    fields: dict[str, object]
    case_id: int | None
    """The case the fields are on, once it has opened."""


async def load(db: Database, call_ref: str) -> SavedIntake | None:
    async with db.session() as s:
        row = (await s.exec(select(CallIntake).where(col(CallIntake.call_ref) == call_ref))).first()
    if row is None:
        return None
    return SavedIntake(row.call_ref, row.operator, dict(row.fields), row.case_id)


async def save(
    db: Database,
    call_ref: str,
    form: IntakeFields,
    *,
    operator: str,
    actor: str,
    outbox: Outbox,
    may_take_over: bool = False,
) -> SavedIntake:
    """Keep the form by the call, and put it on the call's case if that is open."""
    changes = form.changes()
    async with db.session() as s:
        row = (await s.exec(select(CallIntake).where(col(CallIntake.call_ref) == call_ref))).first()
        if row is not None and row.operator != operator and not may_take_over:
            raise IntakeTaken(f"operator {row.operator} is already taking this call")
        call = (await s.exec(select(Call).where(col(Call.external_id) == call_ref))).first()
        case = None
        if call is not None:
            case = (await s.exec(select(Case).where(col(Case.call_id) == call.id))).first()
        if row is None and call is not None and not may_take_over:
            _may_take(call, case, operator)
        if row is None:
            row = CallIntake(call_ref=call_ref, operator=operator, fields={})
        row.fields = {**row.fields, **changes}
        row.updated_at = utcnow()
        s.add(row)
        await s.flush()
        await append_audit(
            s,
            actor=actor,
            action="intake.saved",
            subject=f"call:{call.id}" if call else f"external:{call_ref}"[:128],
            case_id=case.id if case else None,
            details=audit_details(changes),
        )
        if case is not None:
            await _onto_case(s, row, case, actor=actor, outbox=outbox)
        return SavedIntake(row.call_ref, row.operator, dict(row.fields), row.case_id)


def _may_take(call: Call, case: Case | None, operator: str) -> None:
    """Refuse the first save of a call's form by an operator who cannot have taken it."""
    if case is not None and case.operator and case.operator != operator:
        raise IntakeTaken(f"operator {case.operator} took this call")
    if call.source == "import":
        raise IntakeClosed(
            "an imported recording was taken by no operator: its case is worked on from its page"
        )
    if call.ended_at is not None and utcnow() - call.ended_at > AFTER_THE_CALL:
        minutes = int(AFTER_THE_CALL.total_seconds() // 60)
        raise IntakeClosed(
            f"the call ended more than {minutes} minutes ago and no operator saved its "
            "form: its case is worked on from its page"
        )


async def _onto_case(
    s: AsyncSession, row: CallIntake, case: Case, *, actor: str, outbox: Outbox
) -> None:
    changes = IntakeFields.model_validate(row.fields).changes()
    if not case.operator:
        changes["operator"] = row.operator
    row.case_id = case.id
    s.add(row)
    await apply_changes(s, case, changes, actor=actor, action="case.intake", outbox=outbox)


async def apply_pending(s: AsyncSession, call: Call, case: Case, *, outbox: Outbox) -> None:
    """In the transaction that opens ``case``: copy the form kept for its call onto it."""
    row = (
        await s.exec(select(CallIntake).where(col(CallIntake.call_ref) == call.external_id))
    ).first()
    if row is not None and row.case_id is None:
        await _onto_case(s, row, case, actor=f"user:{row.operator}", outbox=outbox)
