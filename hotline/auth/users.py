"""User accounts and passwords.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile) off the
event loop: one hash costs tens of milliseconds of CPU by design. Passwords that the
service chooses (the first administrator, a reset) are random, shown once, and must be
changed at the next sign-in.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from hotline.auth.roles import Role, parse_roles
from hotline.errors import InputError, LoginRefused, LoginThrottled, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.accounts import LoginFailure, User, WebSession
from hotline.store.db import Database
from hotline.store.types import utcnow

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
LOGIN_WINDOW = timedelta(minutes=15)
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_HASHER = PasswordHasher()
# Verified when the user name is unknown, so a wrong name costs as long as a wrong
# password and response times do not tell which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def check_username(name: str) -> str:
    name = name.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InputError(
            f"user name {name!r}: 2-64 characters, lower-case letters, digits, '.', '_', '-'"
        )
    return name


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InputError(f"unknown role {role!r}: one of {', '.join(Role)}") from None


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def random_password() -> str:
    return secrets.token_urlsafe(12)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def _verify(hashed: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@dataclass(frozen=True, slots=True)
class NewPassword:
    user: User
    password: str | None
    """The password the service chose, to show once; ``None`` when the caller chose it."""


async def add_user(
    db: Database,
    username: str,
    role: str,
    *,
    actor: str,
    password: str | None = None,
    display_name: str = "",
    language: str = "",
) -> NewPassword:
    username, checked_role = check_username(username), check_role(role)
    chosen = password is None
    password = random_password() if password is None else check_password(password)
    if language not in {"", "zh", "en"}:
        raise InputError(f"language {language!r}: zh, en, or empty for the browser's")
    user = User(
        username=username,
        display_name=display_name.strip()[:128],
        role=checked_role,
        password_hash=await hash_password(password),
        language=language,
        must_change_password=chosen,
    )
    try:
        async with db.session() as s:
            s.add(user)
            await s.flush()
            await append_audit(
                s,
                actor=actor,
                action="user.created",
                subject=f"user:{user.id}",
                details={"username": username, "role": checked_role.value},
            )
    except IntegrityError:
        raise InputError(f"user {username!r} exists already") from None
    return NewPassword(user, password if chosen else None)


async def list_users(db: Database) -> list[User]:
    async with db.session() as s:
        return list((await s.exec(select(User).order_by(col(User.username)))).all())


async def set_disabled(db: Database, username: str, *, disabled: bool, actor: str) -> User:
    """Disable (signing out every session) or enable an account."""
    async with db.session() as s:
        user = (await s.exec(select(User).where(col(User.username) == username))).first()
        if user is None:
            raise NotFound(f"no user {username!r}")
        user.disabled = disabled
        s.add(user)
        if disabled:
            await s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
        await append_audit(
            s,
            actor=actor,
            action="user.disabled" if disabled else "user.enabled",
            subject=f"user:{user.id}",
            details={"username": username},
        )
    return user


async def set_role(db: Database, username: str, role: str, *, granted: bool, actor: str) -> User:
    """Grant a role beside the user's own, or withdraw one granted (``users grant`` /
    ``users revoke``). The user's sessions end, so the change applies at once."""
    checked = check_role(role)
    async with db.session() as s:
        user = (await s.exec(select(User).where(col(User.username) == username))).first()
        if user is None:
            raise NotFound(f"no user {username!r}")
        extra = set(parse_roles(user.extra_roles))
        if checked == Role(user.role):
            raise InputError(f"{username!r} is {checked.value} already (their own role)")
        if granted == (checked in extra):
            state = "holds" if granted else "does not hold"
            raise InputError(f"{username!r} {state} the role {checked.value} already")
        extra = extra | {checked} if granted else extra - {checked}
        user.extra_roles = ",".join(sorted(r.value for r in extra))
        s.add(user)
        await s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
        await append_audit(
            s,
            actor=actor,
            action="user.role_granted" if granted else "user.role_revoked",
            subject=f"user:{user.id}",
            details={"username": username, "role": checked.value},
        )
    return user


async def reset_password(
    db: Database, username: str, *, actor: str, password: str | None = None
) -> NewPassword:
    """A new password (random unless given), to be changed at the next sign-in; every
    session of the account ends."""
    chosen = password is None
    password = random_password() if password is None else check_password(password)
    hashed = await hash_password(password)
    async with db.session() as s:
        user = (await s.exec(select(User).where(col(User.username) == username))).first()
        if user is None:
            raise NotFound(f"no user {username!r}")
        user.password_hash = hashed
        user.must_change_password = True
        user.password_changed_at = utcnow()
        s.add(user)
        await s.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
        await s.exec(delete(LoginFailure).where(col(LoginFailure.username) == username))
        await append_audit(
            s,
            actor=actor,
            action="user.password_reset",
            subject=f"user:{user.id}",
            details={"username": username},
        )
    return NewPassword(user, password if chosen else None)


async def change_password(db: Database, user_id: int, current: str, new: str) -> None:
    """The user's own change: the current password must be right."""
    check_password(new)
    async with db.session() as s:
        user = await s.get(User, user_id)
    if user is None or not await _verify(user.password_hash, current):
        raise LoginRefused("the current password is wrong")
    if current == new:
        raise InputError("the new password must differ from the current one")
    hashed = await hash_password(new)
    async with db.session() as s:
        user = await s.get(User, user_id)
        assert user is not None
        user.password_hash = hashed
        user.must_change_password = False
        user.password_changed_at = utcnow()
        s.add(user)
        await append_audit(
            s,
            actor=f"user:{user.username}",
            action="user.password_changed",
            subject=f"user:{user.id}",
            details={},
        )


async def set_language(db: Database, user_id: int, language: str) -> None:
    if language not in {"", "zh", "en"}:
        raise InputError(f"language {language!r}: zh, en, or empty for the browser's")
    async with db.session() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        user.language = language
        s.add(user)


async def ensure_first_admin(db: Database) -> NewPassword | None:
    """On a fresh installation (no user at all): an ``admin`` with a random password."""
    async with db.session() as s:
        if (await s.exec(select(func.count()).select_from(User))).one():
            return None
    try:
        created = await add_user(
            db, "admin", Role.ADMIN, actor="system", display_name="Administrator"
        )
    except InputError:
        return None  # another process made it first
    return created


async def authenticate(db: Database, username: str, password: str, *, ip: str, limit: int) -> User:
    """The user, if the password is right; refused or throttled (and audited) if not.

    Each attempt is written down before its password is checked, and counted with the
    others after: guesses sent all at once each count the ones before them, so no more
    than ``limit`` get as far as the (slow, by design) check. The row is the failure
    when the password is wrong, and is removed when it is right or was never tried."""
    name = username.strip().lower()[:64]
    since = utcnow() - LOGIN_WINDOW
    attempt = LoginFailure(username=name, ip=ip[:64])
    async with db.session() as s:
        s.add(attempt)
        user = (await s.exec(select(User).where(col(User.username) == name))).first()
    async with db.session() as s:
        by_name = (
            await s.exec(
                select(func.count())
                .select_from(LoginFailure)
                .where(col(LoginFailure.username) == name, col(LoginFailure.at) > since)
            )
        ).one()
        by_ip = (
            await s.exec(
                select(func.count())
                .select_from(LoginFailure)
                .where(col(LoginFailure.ip) == ip[:64], col(LoginFailure.at) > since)
            )
        ).one()
    # An address may mistype for several people (a shared front desk), so it gets more.
    if by_name > limit or by_ip > limit * 4:
        async with db.session() as s:
            await s.exec(delete(LoginFailure).where(col(LoginFailure.id) == attempt.id))
            await append_audit(
                s,
                actor=f"http:{ip}",
                action="auth.login_throttled",
                subject=f"user:{user.id}" if user else "",
                details={"username": name},
            )
        raise LoginThrottled(
            "too many wrong passwords; wait 15 minutes and try again",
            retry_after=int(LOGIN_WINDOW.total_seconds()),
        )
    ok = await _verify(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or user.disabled:
        async with db.session() as s:
            await s.exec(delete(LoginFailure).where(col(LoginFailure.at) < since - LOGIN_WINDOW))
            await append_audit(
                s,
                actor=f"http:{ip}",
                action="auth.login_failed",
                subject=f"user:{user.id}" if user else "",
                details={"username": name, "reason": "disabled" if ok else "password"},
            )
        raise LoginRefused("wrong user name or password")
    async with db.session() as s:
        await s.exec(delete(LoginFailure).where(col(LoginFailure.id) == attempt.id))
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user
