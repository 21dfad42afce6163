"""Tables for the people and programs that use the web UI and the API: user accounts,
browser sessions, API tokens, and failed logins (for rate limiting).

Secrets are never stored: passwords as Argon2id hashes, session cookies and API tokens
as SHA-256 digests of high-entropy random values.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hotline.store.types import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=128)
    role: str = Field(max_length=16)
    """``operator``, ``handler``, ``supervisor``, ``head``, ``auditor`` or ``admin``."""
    extra_roles: str = Field(default="", max_length=128)
    """Roles granted beside ``role``, comma-separated (``head``): ``hotline users grant``."""
    password_hash: str = Field(max_length=255)
    language: str = Field(default="", max_length=8)
    """``zh`` or ``en``; empty: follow the browser."""
    disabled: bool = False
    must_change_password: bool = False
    """Set for a password someone else chose (first admin, reset): change it first."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    password_changed_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False
    )
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random value; the row, its SHA-256."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    """The absolute end, whatever the activity."""
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token for an integration, with one role."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    """The token's first characters, to recognise it in lists and logs."""
    created_by: str = Field(default="", max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """A wrong password (or unknown user), counted per user name and per address."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    ip: str = Field(default="", max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
