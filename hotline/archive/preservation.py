"""Long-term preservation flags (长期保存, art. 20 of the rule).

A case is kept long-term when the party objected, complained or petitioned; when
officers were obstructed or assaulted; in a mass or sudden incident; or in another case
that needs it (with a text saying why). A handler, supervisor or head flags a case;
only the head lifts a flag, with a reason. Both are audit events, and the case system
hears of them (``case.updated``) once the case was forwarded.

``mark`` and ``lift`` are the one place where a case becomes flagged or stops being
flagged: whatever else must follow a flag belongs here. On S3 the case's objects get
a legal hold, or lose it when no other preserved case uses them
(``hotline.evidence.holds``): a job enqueued in the flag's own transaction, so the
hold follows the committed flag and an object store that is down only delays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.casework import after_change
from hotline.errors import InputError
from hotline.evidence import holds
from hotline.evidence.audit import append_audit
from hotline.store.tables import Case
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox

MARKED = "case.preservation_marked"
LIFTED = "case.preservation_lifted"

NOTE_MAX = 500


class Reason(StrEnum):
    """The four reasons of art. 20."""

    PARTY_OBJECTION = "party_objection"
    """当事人提出异议、投诉或者信访: the party objected, complained or petitioned."""
    OBSTRUCTION = "obstruction"
    """执法人员受到阻挠或者暴力袭击: officers were obstructed or assaulted."""
    MASS_INCIDENT = "mass_incident"
    """群体性或者突发性事件: a mass or sudden incident."""
    OTHER = "other"
    """其他需要长期保存的情形: another case that needs it (the note says why)."""


@dataclass(frozen=True, slots=True)
class Flag:
    """A case's preservation flag as shown to people and machines."""

    reason: str
    note: str
    marked_at: str | None
    marked_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "note": self.note,
            "marked_at": self.marked_at,
            "marked_by": self.marked_by,
        }


def flag_of(case: Case) -> Flag | None:
    if not case.preservation_reason:
        return None
    return Flag(
        reason=case.preservation_reason,
        note=case.preservation_note,
        marked_at=case.preserved_at.isoformat() if case.preserved_at else None,
        marked_by=case.preserved_by,
    )


def check_mark(reason: str, note: str) -> tuple[Reason, str]:
    """The reason and note of a flag, or ``InputError`` saying what is wrong."""
    try:
        chosen = Reason(reason)
    except ValueError:
        allowed = ", ".join(r.value for r in Reason)
        raise InputError(f"unknown preservation reason {reason!r}: one of {allowed}") from None
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise InputError(f"the note is longer than {NOTE_MAX} characters")
    if chosen is Reason.OTHER and len(note) < 2:
        raise InputError("the reason 'other' needs a note saying why the case is kept")
    return chosen, note


async def mark(
    session: AsyncSession,
    case: Case,
    reason: str,
    note: str,
    *,
    actor: str,
    outbox: Outbox,
) -> bool:
    """Flag ``case`` (or change the reason of its flag) in the caller's transaction.
    Returns ``False`` when it was flagged already with the same reason and note."""
    chosen, note = check_mark(reason, note)
    before = flag_of(case)
    if before is not None and before.reason == chosen and before.note == note:
        return False
    case.preservation_reason = chosen.value
    case.preservation_note = note
    if before is None:
        case.preserved_at = utcnow()
        case.preserved_by = actor
    case.updated_at = utcnow()
    session.add(case)
    await session.flush()
    details: dict[str, Any] = {"number": case.number, "reason": chosen.value, "note": note}
    if before is not None:
        details["previous_reason"] = before.reason
    await append_audit(
        session,
        actor=actor,
        action=MARKED,
        subject=f"case:{case.id}",
        case_id=case.id,
        details=details,
    )
    if before is None:  # another reason holds the same objects: nothing to change there
        holds.follow(session, outbox.queue, outbox.settings, case, "marked")
    await after_change(session, case, outbox)
    return True


async def lift(
    session: AsyncSession, case: Case, reason: str, *, actor: str, outbox: Outbox
) -> None:
    """Lift the flag of ``case`` (the head's decision, with ``reason``), in the caller's
    transaction. The caller checks that ``actor`` holds the permission to."""
    reason = reason.strip()
    if len(reason) < 2:
        raise InputError("lifting a preservation flag needs a reason")
    if len(reason) > NOTE_MAX:
        raise InputError(f"the reason is longer than {NOTE_MAX} characters")
    before = flag_of(case)
    if before is None:
        raise InputError(f"{case.number} is not flagged for long-term preservation")
    case.preservation_reason = ""
    case.preservation_note = ""
    case.preserved_at = None
    case.preserved_by = ""
    case.updated_at = utcnow()
    session.add(case)
    await session.flush()
    await append_audit(
        session,
        actor=actor,
        action=LIFTED,
        subject=f"case:{case.id}",
        case_id=case.id,
        details={
            "number": case.number,
            "reason": reason,
            "flag": before.to_dict(),
        },
    )
    holds.follow(session, outbox.queue, outbox.settings, case, "lifted")
    await after_change(session, case, outbox)
