"""The database: SQLModel tables, the async engine and sessions, Alembic migrations.

Works on SQLite (the embedded default, through aiosqlite) and PostgreSQL (asyncpg).
Tables are facts about calls, recordings, cases, transcripts, jobs and the audit
chain; the bytes of recordings live in the evidence store, not here.

May import: ``hotline.config``, ``hotline.errors``. Nothing above it.
"""

from __future__ import annotations

from hotline.store.accounts import ApiToken, LoginFailure, User, WebSession
from hotline.store.casework import CallIntake, CaseSearch
from hotline.store.custody import CaseAssignment, CopyRequest, RedactionMark
from hotline.store.db import Database
from hotline.store.delivery import (
    CallbackReceipt,
    Delivery,
    DeliveryStatus,
    ServerSecret,
    WebhookEndpoint,
    WebhookEvent,
)
from hotline.store.nodes import NodeLease, PendingSeal
from hotline.store.tables import (
    AuditEvent,
    AuditTimestamp,
    Call,
    Case,
    CaseStatus,
    Incident,
    Job,
    JobStatus,
    Recording,
    Transcript,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuditTimestamp",
    "Call",
    "CallIntake",
    "CallbackReceipt",
    "Case",
    "CaseAssignment",
    "CaseSearch",
    "CaseStatus",
    "CopyRequest",
    "Database",
    "Delivery",
    "DeliveryStatus",
    "Incident",
    "Job",
    "JobStatus",
    "LoginFailure",
    "NodeLease",
    "PendingSeal",
    "Recording",
    "RedactionMark",
    "ServerSecret",
    "Transcript",
    "User",
    "WebSession",
    "WebhookEndpoint",
    "WebhookEvent",
]
