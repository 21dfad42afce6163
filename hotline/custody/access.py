"""Who may see a case, by its confidentiality level, and the head's acts that change
it: setting the level (with a reason) and assigning handlers to a ``state`` case.

Each act is an audit event in the transaction that makes it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission, Principal, Role, parse_roles, permissions_of
from hotline.casework import after_change
from hotline.custody.levels import Level, level_of, restricted, visible
from hotline.errors import InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.accounts import User
from hotline.store.custody import CaseAssignment
from hotline.store.db import Database
from hotline.store.tables import Case
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox


def reads_all(principal: Principal) -> bool:
    return principal.can(Permission.CASES_READ_ALL)


def _current(case_id: int) -> ColumnElement[bool]:
    return (col(CaseAssignment.case_id) == case_id) & col(CaseAssignment.ended_at).is_(None)


async def is_assigned(session: AsyncSession, case_id: int, username: str | None) -> bool:
    if username is None:
        return False
    found = (
        await session.exec(
            select(CaseAssignment.id).where(
                _current(case_id), col(CaseAssignment.username) == username
            )
        )
    ).first()
    return found is not None


async def may_see(session: AsyncSession, principal: Principal, case: Case) -> bool:
    """The level's rule for this principal (the role's own rules come on top)."""
    if not restricted(case.confidentiality) or reads_all(principal):
        return True
    assigned = await is_assigned(session, case.id or 0, principal.username)
    return visible(case.confidentiality, reads_all=False, assigned=assigned)


async def may_see_id(db: Database, principal: Principal, case_id: int) -> bool:
    """For event streams: may this principal hear about case ``case_id`` at all?"""
    if reads_all(principal):
        return True
    async with db.session() as s:
        case = await s.get(Case, case_id)
        return case is not None and await may_see(s, principal, case)


def visible_clause(principal: Principal) -> ColumnElement[bool] | None:
    """A condition on ``cases`` that leaves out what the principal may not see
    (``None``: they see every level)."""
    if reads_all(principal):
        return None
    unrestricted = col(Case.confidentiality) != Level.STATE.value
    if principal.username is None:
        return unrestricted  # tokens are never assigned
    mine = select(CaseAssignment.case_id).where(
        col(CaseAssignment.ended_at).is_(None),
        col(CaseAssignment.username) == principal.username,
    )
    return or_(unrestricted, col(Case.id).in_(mine))


async def assignees(session: AsyncSession, case_id: int) -> list[CaseAssignment]:
    return list(
        (
            await session.exec(
                select(CaseAssignment).where(_current(case_id)).order_by(col(CaseAssignment.id))
            )
        ).all()
    )


async def set_level(
    session: AsyncSession, case: Case, level: str, *, reason: str, actor: str, outbox: Outbox
) -> bool:
    """Change the case's level (``case.confidentiality_set``, with the reason). Returns
    whether it changed."""
    new = Level(level)
    old = level_of(case.confidentiality)
    if new is old and case.confidentiality == new.value:
        return False
    case.confidentiality = new.value
    case.updated_at = utcnow()
    session.add(case)
    await session.flush()
    await append_audit(
        session,
        actor=actor,
        action="case.confidentiality_set",
        subject=f"case:{case.id}",
        case_id=case.id,
        details={"from": old.value, "to": new.value, "reason": reason},
    )
    await after_change(session, case, outbox)
    return True


async def _reader(session: AsyncSession, username: str) -> User:
    """An active user whose roles let them work on cases."""
    user = (await session.exec(select(User).where(col(User.username) == username))).first()
    if user is None:
        raise NotFound(f"no user {username!r}")
    roles = {Role(user.role)} | set(parse_roles(user.extra_roles))
    if user.disabled or Permission.CASES_READ not in permissions_of(roles):
        raise InputError(f"{username!r} cannot work on cases (role {user.role})")
    return user


async def assign(session: AsyncSession, case: Case, username: str, *, actor: str) -> bool:
    """Let ``username`` see this case whatever its level (``case.assigned``)."""
    await _reader(session, username)
    assert case.id is not None
    if await is_assigned(session, case.id, username):
        return False
    session.add(CaseAssignment(case_id=case.id, username=username, assigned_by=actor))
    await append_audit(
        session,
        actor=actor,
        action="case.assigned",
        subject=f"case:{case.id}",
        case_id=case.id,
        details={"username": username},
    )
    return True


async def unassign(session: AsyncSession, case: Case, username: str, *, actor: str) -> bool:
    """End an assignment (kept, with its end; ``case.unassigned``)."""
    assert case.id is not None
    rows = (
        await session.exec(
            select(CaseAssignment).where(
                _current(case.id), col(CaseAssignment.username) == username
            )
        )
    ).all()
    if not rows:
        return False
    for row in rows:
        row.ended_at = utcnow()
        row.ended_by = actor
        session.add(row)
    await append_audit(
        session,
        actor=actor,
        action="case.unassigned",
        subject=f"case:{case.id}",
        case_id=case.id,
        details={"username": username},
    )
    return True
