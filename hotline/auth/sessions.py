"""Browser sessions: a random cookie value, stored as its SHA-256, with an idle and an
absolute timeout, and a CSRF token of its own.

A session is checked on every request; its last-seen time is written at most once a
minute, so reading pages does not turn into a database write per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from hotline.auth.roles import Principal, Role, parse_roles
from hotline.config import Settings
from hotline.evidence.audit import append_audit
from hotline.store.accounts import User, WebSession
from hotline.store.db import Database
from hotline.store.types import utcnow

_TOUCH_EVERY = timedelta(seconds=60)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str
    """The value for the browser; only its digest is stored."""
    principal: Principal


def principal_of(user: User, session: WebSession | None = None) -> Principal:
    assert user.id is not None
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=Role(user.role),
        display_name=user.display_name or user.username,
        language=user.language,
        session_id=session.id if session else None,
        csrf_token=session.csrf_token if session else None,
        must_change_password=user.must_change_password,
        extra_roles=parse_roles(user.extra_roles) - {Role(user.role)},
    )


async def start(
    db: Database, user: User, settings: Settings, *, ip: str, user_agent: str
) -> NewSession:
    """Sign ``user`` in (after ``authenticate``): a new session, audited."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    session = WebSession(
        id=digest(cookie),
        user_id=user.id or 0,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    async with db.session() as s:
        await s.exec(delete(WebSession).where(col(WebSession.expires_at) < now))
        stored = await s.get(User, user.id)
        assert stored is not None
        stored.last_login_at = now
        stored.password_hash = user.password_hash  # rehashed with current parameters
        s.add(stored)
        s.add(session)
        await append_audit(
            s,
            actor=f"user:{user.username}",
            action="auth.login",
            subject=f"user:{user.id}",
            details={"ip": ip, "session": session.id[:12]},
        )
    return NewSession(cookie, principal_of(stored, session))


async def resolve(db: Database, cookie: str, settings: Settings) -> Principal | None:
    """The principal of a live session cookie; ``None`` if unknown, expired or idle."""
    if not cookie or len(cookie) > 128:
        return None
    now = utcnow()
    idle = timedelta(minutes=settings.session_idle_minutes)
    async with db.session() as s:
        row = (
            await s.exec(
                select(WebSession, User)
                .join(User, col(User.id) == col(WebSession.user_id))
                .where(col(WebSession.id) == digest(cookie))
            )
        ).first()
        if row is None:
            return None
        session, user = row
        if user.disabled or session.expires_at <= now or session.last_seen_at + idle <= now:
            await s.delete(session)
            return None
        if now - session.last_seen_at >= _TOUCH_EVERY:
            session.last_seen_at = now
            s.add(session)
    return principal_of(user, session)


async def still_valid(db: Database, session_id: str, settings: Settings) -> bool:
    """For long-lived requests (event streams): is the session still there and in time?
    Does not count as activity."""
    now = utcnow()
    async with db.session() as s:
        session = await s.get(WebSession, session_id)
    idle = timedelta(minutes=settings.session_idle_minutes)
    return session is not None and session.expires_at > now and session.last_seen_at + idle > now


async def end(db: Database, principal: Principal) -> None:
    if principal.session_id is None:
        return
    async with db.session() as s:
        await s.exec(delete(WebSession).where(col(WebSession.id) == principal.session_id))
        await append_audit(
            s,
            actor=principal.actor,
            action="auth.logout",
            subject=f"user:{principal.id}",
            details={"session": principal.session_id[:12]},
        )
