"""Terms a handler marks on a case's transcript to be redacted in its copies (a name the
checks cannot know, a company's secret), beside the personal data redaction finds by
itself. A mark is never deleted: withdrawing it writes who and when into it, and copies
issued after leave the term alone. Marking and withdrawing are audit events; the term
itself stays out of the chain (it is what must not spread), in the mark's row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.custody.redact_text import Context, Kind, find
from hotline.errors import NotFound
from hotline.evidence.audit import append_audit
from hotline.store.custody import RedactionMark
from hotline.store.tables import Case
from hotline.store.types import utcnow


class MarkForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    term: str = Field(
        min_length=2,
        max_length=200,
        description="a word or phrase as the transcript writes it (two characters or more)",
    )

    @field_validator("term")
    @classmethod
    def _readable(cls, value: str) -> str:
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
            raise ValueError("a term is one line of text, without control characters")
        if not any(ch.isalnum() for ch in value):
            raise ValueError("a term needs letters or digits, not only punctuation")
        return " ".join(value.split())


def occurrences(term: str, texts: Sequence[str]) -> int:
    """How often ``term`` is found in ``texts`` as redaction finds it (case and width
    do not matter)."""
    context = Context(terms=(term,))
    return sum(1 for text in texts for f in find(text, context) if f.kind is Kind.MARKED)


async def listing(session: AsyncSession, case_id: int) -> list[RedactionMark]:
    """Every mark of the case, withdrawn ones too, oldest first."""
    query = (
        select(RedactionMark)
        .where(col(RedactionMark.case_id) == case_id)
        .order_by(col(RedactionMark.id))
    )
    return list((await session.exec(query)).all())


def _same(a: str, b: str) -> bool:
    return (
        unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()
    )


async def mark(
    session: AsyncSession, case: Case, form: MarkForm, *, actor: str
) -> tuple[RedactionMark, bool]:
    """The active mark of ``form.term`` on the case: made now (``redaction.marked``),
    or the one that exists already; and whether it was made now."""
    assert case.id is not None
    for row in await listing(session, case.id):
        if row.withdrawn_at is None and _same(row.term, form.term):
            return row, False
    row = RedactionMark(case_id=case.id, term=form.term, marked_by=actor)
    session.add(row)
    await session.flush()
    await append_audit(
        session,
        actor=actor,
        action="redaction.marked",
        subject=f"case:{case.id}",
        case_id=case.id,
        details={"mark": row.id, "characters": len(form.term)},
    )
    return row, True


async def withdraw(session: AsyncSession, case: Case, mark_id: int, *, actor: str) -> RedactionMark:
    """End a mark (``redaction.withdrawn``); a mark withdrawn already stays as it was."""
    row = await session.get(RedactionMark, mark_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"no redaction mark {mark_id} on this case")
    if row.withdrawn_at is not None:
        return row
    row.withdrawn_by, row.withdrawn_at = actor, utcnow()
    session.add(row)
    await append_audit(
        session,
        actor=actor,
        action="redaction.withdrawn",
        subject=f"case:{case.id}",
        case_id=case.id,
        details={"mark": row.id},
    )
    return row


def as_json(row: RedactionMark, texts: Sequence[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "term": row.term,
        "marked_by": row.marked_by,
        "marked_at": row.marked_at,
        "withdrawn_by": row.withdrawn_by or None,
        "withdrawn_at": row.withdrawn_at,
        "active": row.withdrawn_at is None,
        "occurrences": occurrences(row.term, texts),
    }
