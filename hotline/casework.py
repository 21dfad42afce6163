"""Changing a case: the fields a person may edit (validated), and the one path every
edit takes — apply, audit, reindex for search, and tell the case system
(``case.updated``) in the same transaction.

May import: ``hotline.cases``, ``hotline.search``, ``hotline.webhooks.outbox``,
``hotline.evidence``, ``hotline.store``, ``hotline.errors``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.evidence.audit import append_audit
from hotline.search import index_cases
from hotline.store.tables import Case, CaseStatus
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox

Category = Literal[
    "",
    "false_data",
    "refusal",
    "late_reporting",
    "obstruction",
    "records_tampering",
    "no_records",
    "other",
]
"""举报类型: the violations of the Statistics Law a bureau enforces (see DOMAIN.md)."""
CATEGORIES: tuple[str, ...] = get_args(Category)[1:]

Confidentiality = Literal["normal", "personal", "commercial", "state"]
"""Art. 18 levels (``hotline.custody.levels``)."""

PERSONAL_FIELDS = frozenset({"reporter_name", "reporter_contact"})
"""The reporter's identity: masked for most roles, never copied into audit details."""
_VALUE_AUDITED = frozenset(
    {
        "category",
        "status",
        "confidentiality",
        "reporter_anonymous",
        "wants_feedback",
        "entity_credit_code",
    }
)
_TEXT = 20_000

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_ok(code: str) -> bool:
    """统一社会信用代码 (GB 32100-2015): 18 characters, the last a mod-31 check."""
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return False
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code, _CREDIT_WEIGHTS, strict=False))
    return _CREDIT_CHARS[(31 - total % 31) % 31] == code[17]


class IntakeFields(BaseModel):
    """What the operator records during the call (every field optional: anonymous
    reports are allowed, and a form may be saved several times as the call goes on)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reporter_name: str | None = Field(None, max_length=128)
    reporter_contact: str | None = Field(None, max_length=64)
    reporter_anonymous: bool | None = None
    wants_feedback: bool | None = None
    entity_name: str | None = Field(None, max_length=255)
    entity_credit_code: str | None = Field(
        None,
        pattern=r"^([0-9A-HJ-NP-RTUW-Ya-hj-np-rtuw-y]{18})?$",
        description="18 characters (GB 32100-2015) ending in a check character, or empty",
    )
    entity_address: str | None = Field(None, max_length=255)
    entity_industry: str | None = Field(None, max_length=128)
    category: Category | None = None
    description: str | None = Field(None, max_length=_TEXT)
    evidence_leads: str | None = Field(None, max_length=_TEXT)
    operator_notes: str | None = Field(None, max_length=_TEXT)

    @field_validator("entity_credit_code")
    @classmethod
    def _credit_code(cls, value: str | None) -> str | None:
        if value:
            value = value.upper()
            if not credit_code_ok(value):
                raise ValueError("not a valid unified social credit code (check character)")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class CaseUpdate(IntakeFields):
    """What a handler may change on a case. The confidentiality level is not among
    them: the head sets it, with a reason (``PUT /api/cases/{id}/confidentiality``)."""

    @model_validator(mode="before")
    @classmethod
    def _no_level(cls, data: Any) -> Any:
        if isinstance(data, dict) and "confidentiality" in data:
            raise ValueError(
                "the confidentiality level is set by the head with a reason: "
                "PUT /api/cases/{id}/confidentiality"
            )
        return data

    status: Literal["draft", "under_review"] | None = Field(
        None, description="later states come from forwarding and the case system"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_preservation(cls, data: Any) -> Any:
        # The checkbox this replaced could be cleared by anyone editing the case; the
        # flag has its own audited path, which only the head may lift.
        if isinstance(data, dict) and ({"long_term", "long_term_reason"} & data.keys()):
            raise ValueError(
                "long-term preservation is a flag of its own: "
                "POST /api/cases/{id}/preservation (lifting it is the head's)"
            )
        return data


def audit_details(changes: dict[str, Any]) -> dict[str, Any]:
    """Field names always; values only where they are neither personal nor free text
    (the chain is permanent: a reporter's name written there could never be removed)."""
    return {
        "fields": sorted(changes),
        "values": {k: v for k, v in sorted(changes.items()) if k in _VALUE_AUDITED},
    }


async def apply_changes(
    session: AsyncSession,
    case: Case,
    changes: dict[str, Any],
    *,
    actor: str,
    action: str,
    outbox: Outbox,
    handler: str | None = None,
) -> list[str]:
    """Apply field changes to ``case`` in the caller's transaction. ``handler``: the
    user taking the case (a draft becomes under review). Returns the changed names."""
    changed = {k: v for k, v in changes.items() if getattr(case, k) != v}
    if handler and not case.handler:
        changed["handler"] = handler
    if (
        handler
        and case.status == CaseStatus.DRAFT
        and changes.get("status") != CaseStatus.DRAFT
        and changed
    ):
        changed["status"] = CaseStatus.UNDER_REVIEW
    if not changed:
        return []
    for name, value in changed.items():
        setattr(case, name, value)
    case.updated_at = utcnow()
    session.add(case)
    await session.flush()
    await append_audit(
        session,
        actor=actor,
        action=action,
        subject=f"case:{case.id}",
        case_id=case.id,
        details=audit_details(changed),
    )
    await after_change(session, case, outbox)
    return sorted(changed)


async def after_change(session: AsyncSession, case: Case, outbox: Outbox) -> None:
    """What follows any change to a case's fields or transcript, in its transaction."""
    assert case.id is not None
    await index_cases(session, [case.id])
    await outbox.case_updated(session, case)
