"""What a principal may see of a case, and in what form: access to a case, masking of
caller numbers and reporters' identities, and the audit events that reading content
leaves behind."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission, Principal
from hotline.cases import CaseView, case_json, get_case, load_views
from hotline.custody.access import may_see
from hotline.errors import NotFound
from hotline.evidence.audit import append_audit
from hotline.phone import mask
from hotline.store.tables import Case, Transcript
from hotline.web.routing import ApiError
from hotline.web.schemas import CaseOut, CaseSummary

_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
_PERSONAL_DETAIL_KEYS = ("caller",)


def mask_name(value: str) -> str:
    """``张三丰`` -> ``张**``: enough to tell two reports apart, not to identify anyone."""
    value = value.strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def owns(principal: Principal, case: Case) -> bool:
    """The operator who took the call (their intake form is on the case)."""
    return (
        principal.can(Permission.CASES_READ_OWN)
        and principal.username is not None
        and case.operator == principal.username
    )


def may_read(principal: Principal, case: Case) -> bool:
    return principal.can(Permission.CASES_READ) or owns(principal, case)


def may_read_content(principal: Principal, case: Case) -> bool:
    """Recordings and transcripts (art. 11: kept by designated people)."""
    return principal.can(Permission.CONTENT_READ) or owns(principal, case)


def sees_unmasked(principal: Principal, case: Case) -> bool:
    """The operator who took the call knows the caller already; everyone else unmasks
    on purpose (an audited act)."""
    return owns(principal, case)


def check_case_ref(ref: str) -> str:
    """A case id or number that can be looked up; anything else is simply not found."""
    if not _NUMBER.fullmatch(ref) or (ref.isdecimal() and len(ref) > 18):
        raise NotFound(f"no case {ref[:40]}")
    return ref


async def load_case(session: AsyncSession, principal: Principal, ref: str) -> CaseView:
    """The case, if ``principal`` may read it (404 for a malformed or unknown ref, and
    for a ``state`` case they are not assigned to: its existence is itself a secret)."""
    check_case_ref(ref)
    case = await get_case(session, ref)
    if not await may_see(session, principal, case):
        raise NotFound(f"no case {ref}")
    if not may_read(principal, case):
        raise ApiError(403, "this case is not one of your calls")
    (view,) = await load_views(session, [case])
    return view


def _masked(data: dict[str, Any], unmasked: bool) -> dict[str, Any]:
    caller = dict(data["caller"])
    if not unmasked:
        caller["number"] = mask(caller["number"] or "")
        caller["e164"] = mask(caller["e164"]) if caller["e164"] else None
        caller["name"] = mask_name(caller["name"] or "")
        data["reporter_name"] = mask_name(data["reporter_name"])
        data["reporter_contact"] = (
            mask(data["reporter_contact"]) if data["reporter_contact"] else ""
        )
    caller["masked"] = not unmasked
    data["caller"] = caller
    return data


def summary(
    view: CaseView, principal: Principal, transcript: dict[str, Any] | None = None
) -> CaseSummary:
    """The case in a list: ``transcript`` says which version there is (see
    ``transcript_infos``) when the view was loaded without transcripts."""
    data = _masked(case_json(view), sees_unmasked(principal, view.case))
    if transcript is not None:
        data["transcript"] = transcript
    return CaseSummary.model_validate(data)


async def transcript_infos(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Which transcript version each case is at, without loading any text."""
    if not case_ids:
        return {}
    # More columns than sqlmodel's typed select() takes: a Core query on the connection.
    conn = await session.connection()
    rows = await conn.execute(
        sa_select(
            col(Transcript.case_id),
            col(Transcript.version),
            col(Transcript.source),
            col(Transcript.author),
            col(Transcript.language),
            col(Transcript.model),
            col(Transcript.created_at),
        )
        .where(col(Transcript.case_id).in_(case_ids))
        .order_by(col(Transcript.version), col(Transcript.created_at))
    )
    infos: dict[int, dict[str, Any]] = {}
    for case_id, version, source, author, language, model, created_at in rows:
        infos[case_id] = {
            "version": version,
            "source": source,
            "author": author,
            "language": language,
            "model": model,
            "created_at": created_at,
        }
    return infos


async def detail(
    session: AsyncSession, view: CaseView, principal: Principal, *, via: str = "api"
) -> CaseOut:
    """The whole case; its transcript only for those who may read content, and that
    reading is an audit event."""
    data = _masked(case_json(view), sees_unmasked(principal, view.case))
    if not may_read_content(principal, view.case):
        data["transcript"] = None
    elif data["transcript"] is not None:
        for index, segment in enumerate(data["transcript"]["segments"]):
            segment["index"] = index
        await audit_transcript_view(
            session, view, principal, data["transcript"]["version"], via=via
        )
    return CaseOut.model_validate(data)


async def audit_transcript_view(
    session: AsyncSession, view: CaseView, principal: Principal, version: int, via: str = "api"
) -> None:
    await append_audit(
        session,
        actor=principal.actor,
        action="transcript.viewed",
        subject=f"case:{view.case.id}",
        case_id=view.case.id,
        details={"version": version, "via": via},
    )


def event_details(details: dict[str, Any]) -> dict[str, Any]:
    """Audit details as shown to people: caller numbers masked (the chain keeps them)."""
    shown = dict(details)
    for key in _PERSONAL_DETAIL_KEYS:
        if isinstance(shown.get(key), str):
            shown[key] = mask(shown[key])
    return shown
