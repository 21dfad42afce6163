"""Tables of the custody articles: who may see a ``state`` case, copy requests and their
decisions, and the terms a handler marked for redaction in copies.

Nothing here is ever deleted: an assignment or a mark that ends gets its end written
into it, a copy request moves through its states and keeps every decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.store.types import UTCDateTime, utcnow


class CaseAssignment(SQLModel, table=True):
    """A handler the head named for a ``state`` case (art. 18): only they, and the head,
    see it."""

    __tablename__ = "case_assignments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    username: str = Field(max_length=64, index=True)
    assigned_by: str = Field(max_length=128)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    ended_by: str = Field(default="", max_length=128)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CopyRequest(SQLModel, table=True):
    """A party's request for a copy of a case's records (art. 17), from ``requested``
    to ``approved`` or ``refused``, then ``issued``, and perhaps ``revoked``."""

    __tablename__ = "copy_requests"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    sequence: int
    """1, 2, … per case: the copy number is the case number + ``-C02``."""
    number: str = Field(max_length=48, unique=True)
    status: str = Field(max_length=16, index=True)
    party_name: str = Field(max_length=128)
    party_id_type: str = Field(max_length=32)
    party_id_number: str = Field(max_length=64)
    """Kept whole for the record; every listing shows it masked."""
    purpose: str = Field(sa_type=Text)
    what: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """``recording``, ``transcript``, ``summary``."""
    range_start: float | None = None
    range_end: float | None = None
    """Seconds on the case's timeline; both ``None``: everything."""
    redacted: bool = True
    full_reason: str = Field(default="", sa_type=Text)
    requested_by: str = Field(max_length=64)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    decided_by: str = Field(default="", max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_comment: str = Field(default="", sa_type=Text)
    issued_by: str = Field(default="", max_length=64)
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    zip_name: str = Field(default="", max_length=128)
    zip_sha256: str = Field(default="", max_length=64)
    zip_size: int = 0
    revoked_by: str = Field(default="", max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoke_reason: str = Field(default="", sa_type=Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """What the issued copy holds: transcript version, redaction counts by kind."""


class RedactionMark(SQLModel, table=True):
    """A term a handler marked on a case's transcript: redacted in every copy issued
    after, like the personal data found by itself."""

    __tablename__ = "redaction_marks"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    term: str = Field(max_length=200)
    marked_by: str = Field(max_length=128)
    marked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    withdrawn_by: str = Field(default="", max_length=128)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
