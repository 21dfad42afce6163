"""The tables. Rows that are evidence (recordings, transcripts, audit events) are only
ever inserted; corrections are new rows that point to the old ones.

Times are aware UTC datetimes (``UTCDateTime``). Statuses are short strings with a
``StrEnum`` in code, so no database enum types need migrating.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.store.types import UTCDateTime, utcnow


class CallState(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class Call(SQLModel, table=True):
    """A call to the hotline, from whichever source (``asterisk``, ``sip``, ``import``)."""

    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)
    external_id: str = Field(max_length=128)
    """The source's own id: AMI ``Linkedid``, SIP ``Call-ID``, or a generated one."""
    caller_raw: str = Field(default="", max_length=64)
    caller_e164: str | None = Field(default=None, max_length=32)
    caller_name: str = Field(default="", max_length=128)
    callee: str = Field(default="", max_length=64)
    state: str = Field(default=CallState.RINGING, max_length=16, index=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_cause: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Recording(SQLModel, table=True):
    """A sealed recording of one call: the bytes sit in the evidence store under their
    SHA-256. Identical bytes from another call (or another leg of the same call) are
    another recording, of that call, pointing to the same stored file."""

    __tablename__ = "recordings"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    size: int
    stored_path: str = Field(max_length=255)
    """The sealed object's key, relative to the evidence store's root or prefix."""
    object_version: str | None = Field(default=None, max_length=1024)
    """The object's version id where the backend keeps versions (S3)."""
    retain_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Until when the storage itself refuses to delete the object (S3 Object Lock,
    COMPLIANCE mode); ``None`` for the local directory."""
    content_type: str = Field(max_length=64)
    codec: str = Field(max_length=32)
    sample_rate: int
    channels: int
    duration: float
    """Seconds, from the file's own header and data size."""
    original_name: str = Field(default="", max_length=255)
    call_id: int = Field(foreign_key="calls.id", index=True)
    sequence: int = 0
    """Order within its call (a transfer can split a call's recording)."""
    leg: str = Field(default="mix", max_length=16)
    expected_duration: float | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sealed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CaseStatus(StrEnum):
    DRAFT = "draft"
    UNDER_REVIEW = "under_review"
    FORWARDED = "forwarded"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Case(SQLModel, table=True):
    """A report, opened as a draft from a call, with the call's recordings attached."""

    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    status: str = Field(default=CaseStatus.DRAFT, max_length=16, index=True)
    call_id: int = Field(foreign_key="calls.id", unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    # 举报人 the reporter (optional: anonymous reports are allowed)
    reporter_name: str = Field(default="", max_length=128)
    reporter_contact: str = Field(default="", max_length=64)
    reporter_anonymous: bool = False
    wants_feedback: bool = False
    # 被举报单位 the reported entity
    entity_name: str = Field(default="", max_length=255)
    entity_credit_code: str = Field(default="", max_length=18)
    entity_address: str = Field(default="", max_length=255)
    entity_industry: str = Field(default="", max_length=128)
    # 举报类型 / 事项描述 / 证据线索
    category: str = Field(default="", max_length=64, index=True)
    description: str = Field(default="", sa_type=Text)
    evidence_leads: str = Field(default="", sa_type=Text)
    operator_notes: str = Field(default="", sa_type=Text)
    operator: str = Field(default="", max_length=128, index=True)
    handler: str = Field(default="", max_length=128)
    # art. 18 confidentiality
    confidentiality: str = Field(default="personal", max_length=16)
    """``normal``, ``personal`` (the reporter is protected: every report's default),
    ``commercial`` or ``state`` (``hotline.custody.levels``)."""
    # art. 20 long-term preservation (长期保存): set and lifted only through
    # ``hotline.archive.preservation``, never by editing the case
    preservation_reason: str = Field(default="", max_length=32, index=True)
    """One of the reasons of art. 20 (``hotline.archive.preservation.Reason``); empty:
    the case is not flagged."""
    preservation_note: str = Field(default="", max_length=500)
    preserved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    preserved_by: str = Field(default="", max_length=128)
    # the main case system's view of it
    external_number: str = Field(default="", max_length=64)
    external_status: str = Field(default="", max_length=32)
    external_stage: str = Field(default="", max_length=32)
    forwarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Transcript(SQLModel, table=True):
    """One version of a recording's transcript. v1 comes from the machine; corrections
    add versions that point to the one they replace."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("recording_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    recording_id: int = Field(foreign_key="recordings.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    version: int
    source: str = Field(max_length=16)
    """``machine`` or ``correction``."""
    author: str = Field(default="", max_length=128)
    language: str = Field(default="", max_length=8)
    model: str = Field(default="", max_length=255)
    text: str = Field(default="", sa_type=Text)
    segments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    supersedes_id: int | None = Field(default=None, foreign_key="transcripts.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    report: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    """A machine transcript's drop report (``transcriber.Transcript.drop_report``: what
    the guards dropped and why, voiced seconds) with its ``dropped`` segments, and for a
    re-run what was asked (``rerun``: language, model, by whom); ``{}`` before 0011."""


class AuditEvent(SQLModel, table=True):
    """One link of the audit chain: its hash covers its content and the previous hash."""

    __tablename__ = "audit_events"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(default="", max_length=128)
    """What it is about, as ``kind:id`` (``case:12``, ``recording:3``)."""
    case_id: int | None = Field(default=None, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditTimestamp(SQLModel, table=True):
    """A trusted timestamp (RFC 3161) of a checkpoint of the audit chain: the timestamp
    authority's whole response, checkable on its own against the TSA's certificate."""

    __tablename__ = "audit_timestamps"

    id: int | None = Field(default=None, primary_key=True)
    checkpoint_seq: int = Field(unique=True)
    """The ``audit.checkpoint`` event it stamps."""
    response: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    gen_time: datetime = Field(sa_type=UTCDateTime, nullable=False)
    serial: str = Field(max_length=64)
    tsa: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    """Gave up after the last attempt; visible, and can be retried by hand."""
    CANCELLED = "cancelled"
    """No longer needed (e.g. a single leg's transcription once the mix arrived)."""


class Job(SQLModel, table=True):
    """Work for a worker, claimed with a lease that a crashed worker lets expire."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=JobStatus.QUEUED, max_length=16)
    ordering_key: str | None = Field(default=None, max_length=64, index=True)
    """Jobs sharing a key run one at a time, in id order (e.g. one case's webhooks)."""
    case_id: int | None = Field(default=None, index=True)
    attempts: int = 0
    max_attempts: int = 5
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Incident(SQLModel, table=True):
    """Something that threatens complete recording: an unrecorded call, a short file,
    a call source down (art. 10: faults are reported)."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    detail: str = Field(default="", sa_type=Text)
    call_id: int | None = Field(default=None, foreign_key="calls.id")
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    source_call_id: str = Field(default="", max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Counter(SQLModel, table=True):
    """Named sequences (case numbers per year)."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=64)
    value: int = 0
