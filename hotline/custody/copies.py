"""Copy requests in the store: recording one, its decisions, issue, download and
revocation. Each step goes through ``requests.next_state`` and is an audit event in the
transaction that takes it; a step refused is itself recorded (``copy.denied``) in a
transaction of its own, since the refused one changes nothing.

Audit details never hold the party's ID number or full name: the chain is permanent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from stdnum.cn import ric

from hotline.auth.roles import Principal
from hotline.casework import credit_code_ok
from hotline.custody.requests import CopyState, RequestFacts, Step, next_state
from hotline.errors import CopyRefused, InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.phone import mask
from hotline.store.custody import CopyRequest
from hotline.store.db import Database
from hotline.store.tables import Case, Recording
from hotline.store.types import utcnow

Part = Literal["recording", "transcript", "summary"]
PARTS: tuple[Part, ...] = ("recording", "transcript", "summary")
IdType = Literal[
    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "credit_code", "other"
]
"""居民身份证, 护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, 统一社会信用代码 (an
entity asking), another document."""


def mask_name(value: str) -> str:
    value = value.strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


class CopyRequestForm(BaseModel):
    """What a handler records when a party asks for a copy."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_name: str = Field(min_length=1, max_length=128, description="who asks")
    party_id_type: IdType
    party_id_number: str = Field(min_length=2, max_length=64)
    purpose: str = Field(min_length=2, max_length=2000, description="why they ask")
    what: list[Part] = Field(default_factory=lambda: list(PARTS), min_length=1)
    range_start: float | None = Field(None, ge=0, le=86_400)
    range_end: float | None = Field(None, gt=0, le=86_400)
    full: bool = Field(False, description="without redaction: needs a reason")
    full_reason: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> CopyRequestForm:
        number = self.party_id_number.upper()
        if self.party_id_type == "resident_id" and not ric.is_valid(number):
            raise ValueError("party_id_number is not a valid resident ID (check character)")
        if self.party_id_type == "credit_code" and not credit_code_ok(number):
            raise ValueError("party_id_number is not a valid unified social credit code")
        if (self.range_start is None) != (self.range_end is None):
            raise ValueError("give both range_start and range_end, or neither")
        start, end = self.range_start, self.range_end
        if start is not None and end is not None and end <= start:
            raise ValueError("range_end must come after range_start")
        if self.full and len(self.full_reason) < 2:
            raise ValueError("a full (unredacted) copy needs full_reason")
        if not self.full and self.full_reason:
            raise ValueError("full_reason is for full copies only")
        self.what = [p for p in PARTS if p in self.what]
        self.party_id_number = number
        return self


@dataclass(frozen=True, slots=True)
class Listed:
    """A request as every listing shows it: the party's ID masked."""

    row: CopyRequest
    case_number: str

    def json(self) -> dict[str, Any]:
        r = self.row

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": r.id,
            "number": r.number,
            "case_id": r.case_id,
            "case_number": self.case_number,
            "status": r.status,
            "party_name": r.party_name,
            "party_id_type": r.party_id_type,
            "party_id_number": mask(r.party_id_number),
            "purpose": r.purpose,
            "what": list(r.what),
            "range_start": r.range_start,
            "range_end": r.range_end,
            "redacted": r.redacted,
            "full_reason": r.full_reason,
            "requested_by": r.requested_by,
            "requested_at": iso(r.requested_at),
            "decided_by": r.decided_by or None,
            "decided_at": iso(r.decided_at),
            "decision_comment": r.decision_comment,
            "issued_by": r.issued_by or None,
            "issued_at": iso(r.issued_at),
            "zip_name": r.zip_name or None,
            "zip_sha256": r.zip_sha256 or None,
            "zip_size": r.zip_size or None,
            "revoked_by": r.revoked_by or None,
            "revoked_at": iso(r.revoked_at),
            "revoke_reason": r.revoke_reason,
            "redactions": dict(r.details.get("redactions", {})),
        }


def _audit_party(row: CopyRequest) -> dict[str, Any]:
    return {
        "number": row.number,
        "party": mask_name(row.party_name),
        "party_id": f"{row.party_id_type}:{mask(row.party_id_number)}",
    }


async def create(
    session: AsyncSession, case: Case, form: CopyRequestForm, *, by: Principal
) -> CopyRequest:
    """Record a party's request (``copy.requested``): the next copy number of the case."""
    if by.username is None:
        raise CopyRefused("a person records a copy request, not an API token")
    assert case.id is not None
    if form.range_start is not None:
        longest = (
            await session.exec(
                select(func.max(Recording.duration)).where(col(Recording.call_id) == case.call_id)
            )
        ).one()
        if longest is not None and form.range_start >= longest:
            raise InputError(
                f"the part asked for starts at {form.range_start:g} s, but the call's "
                f"recording lasts {longest:.1f} s: nothing of it would be in the copy"
            )
    top = (
        await session.exec(
            select(func.max(CopyRequest.sequence)).where(col(CopyRequest.case_id) == case.id)
        )
    ).one()
    sequence = int(top or 0) + 1
    row = CopyRequest(
        case_id=case.id,
        sequence=sequence,
        number=f"{case.number}-C{sequence:02d}",
        status=CopyState.REQUESTED,
        party_name=form.party_name,
        party_id_type=form.party_id_type,
        party_id_number=form.party_id_number,
        purpose=form.purpose,
        what=list(form.what),
        range_start=form.range_start,
        range_end=form.range_end,
        redacted=not form.full,
        full_reason=form.full_reason,
        requested_by=by.username,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise CopyRefused(
            "another request took this copy number: send it again", status=409
        ) from None
    await append_audit(
        session,
        actor=by.actor,
        action="copy.requested",
        subject=f"copy:{row.id}",
        case_id=case.id,
        details={
            **_audit_party(row),
            "purpose": form.purpose,
            "what": list(form.what),
            "range": [form.range_start, form.range_end] if form.range_start is not None else None,
            "redacted": row.redacted,
            "full_reason": form.full_reason or None,
        },
    )
    return row


async def get(session: AsyncSession, ref: str | int) -> tuple[CopyRequest, Case]:
    """A request by id (``7``) or copy number (``HL-2026-000123-C02``), with its case."""
    text = str(ref).strip()
    if text.isascii() and text.isdecimal() and len(text) <= 18:
        row = await session.get(CopyRequest, int(text))
    else:
        row = (
            await session.exec(select(CopyRequest).where(col(CopyRequest.number) == text[:48]))
        ).first()
    if row is None:
        raise NotFound(f"no copy request {text[:60]}")
    case = await session.get(Case, row.case_id)
    assert case is not None
    return row, case


async def listing(
    session: AsyncSession,
    *,
    case_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Listed]:
    query = (
        select(CopyRequest, Case.number)
        .join(Case, col(Case.id) == col(CopyRequest.case_id))
        .order_by(col(CopyRequest.id).desc())
        .limit(limit)
    )
    if case_id is not None:
        query = query.where(col(CopyRequest.case_id) == case_id)
    if status:
        query = query.where(col(CopyRequest.status) == status)
    return [Listed(row, number) for row, number in (await session.exec(query)).all()]


def facts(row: CopyRequest, case: Case) -> RequestFacts:
    return RequestFacts(
        state=CopyState(row.status),
        requested_by=row.requested_by,
        level=case.confidentiality,
        full=not row.redacted,
    )


async def check(row: CopyRequest, case: Case, step: Step, by: Principal) -> CopyState:
    """The state the step leads to, or ``CopyRefused``."""
    return next_state(facts(row, case), step, by)


async def decide(
    session: AsyncSession,
    row: CopyRequest,
    case: Case,
    step: Step,
    *,
    by: Principal,
    comment: str,
) -> CopyRequest:
    """Approve, refuse or revoke (``copy.approved`` / ``copy.refused`` / ``copy.revoked``)."""
    assert step in (Step.APPROVE, Step.REFUSE, Step.REVOKE)
    if step is not Step.APPROVE and len(comment.strip()) < 2:
        raise CopyRefused(f"say why ({step.value} needs a comment)", status=400)
    target = await check(row, case, step, by)
    now = utcnow()
    if step is Step.REVOKE:
        row.revoked_by, row.revoked_at, row.revoke_reason = by.username or "", now, comment
    else:
        row.decided_by, row.decided_at, row.decision_comment = by.username or "", now, comment
    row.status = target
    session.add(row)
    await append_audit(
        session,
        actor=by.actor,
        action={Step.APPROVE: "copy.approved", Step.REFUSE: "copy.refused"}.get(
            step, "copy.revoked"
        ),
        subject=f"copy:{row.id}",
        case_id=case.id,
        details={**_audit_party(row), "comment": comment},
    )
    return row


async def record_denial(
    db: Database, ref: str | int, step: Step, *, by: Principal, reason: str
) -> None:
    """A step that was refused leaves its trace too (``copy.denied``)."""
    async with db.session() as s:
        try:
            row, case = await get(s, ref)
        except NotFound:
            return
        await append_audit(
            s,
            actor=by.actor,
            action="copy.denied",
            subject=f"copy:{row.id}",
            case_id=case.id,
            details={"number": row.number, "step": step.value, "reason": reason},
        )
