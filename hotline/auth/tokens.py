"""API bearer tokens for integrations: ``hlt_`` + 43 random characters, one role each.

Stored as a SHA-256 digest: the token is 256 random bits, so a fast hash cannot be
searched backwards, and checking one costs microseconds on every API call (a password
hash would cost tens of milliseconds each time).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select

from hotline.auth.roles import Principal, Role
from hotline.auth.sessions import digest
from hotline.auth.users import check_role
from hotline.errors import InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.accounts import ApiToken
from hotline.store.db import Database
from hotline.store.types import utcnow

PREFIX = "hlt_"
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str
    """Shown once; only its digest is kept."""
    row: ApiToken


MAX_DAYS = 3660
"""The longest a token may be made to last; longer is "until revoked"."""


async def create(
    db: Database, name: str, role: str, *, actor: str, expires_days: int | None = None
) -> NewToken:
    name = name.strip()
    if not name or len(name) > 128:
        raise InputError("a token needs a name of 1-128 characters (what uses it)")
    checked = check_role(role)
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        until_revoked = "leave it out for a token kept until revoked"
        raise InputError(f"--expires-days must be 1 to {MAX_DAYS} (ten years); {until_revoked}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        role=checked,
        token_hash=digest(token),
        prefix=token[:12],
        created_by=actor[:128],
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    async with db.session() as s:
        s.add(row)
        await s.flush()
        await append_audit(
            s,
            actor=actor,
            action="token.created",
            subject=f"token:{row.id}",
            details={"name": name, "role": checked.value, "prefix": row.prefix},
        )
    return NewToken(token, row)


async def revoke(db: Database, token_id: int, *, actor: str) -> ApiToken:
    async with db.session() as s:
        row = await s.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            s.add(row)
            await append_audit(
                s,
                actor=actor,
                action="token.revoked",
                subject=f"token:{row.id}",
                details={"name": row.name, "prefix": row.prefix},
            )
    return row


async def list_tokens(db: Database) -> list[ApiToken]:
    async with db.session() as s:
        return list((await s.exec(select(ApiToken).order_by(col(ApiToken.id)))).all())


async def resolve(db: Database, token: str) -> Principal | None:
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    now = utcnow()
    async with db.session() as s:
        row = (
            await s.exec(select(ApiToken).where(col(ApiToken.token_hash) == digest(token)))
        ).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
            row.last_used_at = now
            s.add(row)
    assert row.id is not None
    return Principal(kind="token", id=row.id, name=row.name, role=Role(row.role))
