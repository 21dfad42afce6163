"""Appending to the audit chain, inside the caller's transaction.

Appends are serialised so the chain stays a line: on PostgreSQL by a transaction-scoped
advisory lock, on SQLite by the write lock every transaction takes at ``BEGIN``. The
event commits or rolls back with the change it describes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.store.tables import AuditEvent
from hotline.store.types import utcnow

# Any constant works; it names "the audit chain" among advisory locks.
_AUDIT_LOCK = 0x686C6175  # "hlau"


async def lock_chain(session: AsyncSession) -> None:
    """Hold the chain for the rest of the caller's transaction: no other event is
    appended until it ends (taking it again in the same transaction is harmless)."""
    if session.get_bind().dialect.name == "postgresql":
        conn = await session.connection()
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK})


async def chain_head(session: AsyncSession) -> AuditEvent | None:
    """The newest event, with the chain locked (see ``lock_chain``)."""
    await lock_chain(session)
    return (
        await session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc()).limit(1))
    ).first()


async def append_audit(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str = "",
    case_id: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to the chain (flushed, committed with the caller's transaction)."""
    last = await chain_head(session)
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at or utcnow(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "case_id": case_id,
        # Hash what the database will give back: JSON's own types (str keys, lists).
        "details": json.loads(json.dumps(details or {})),
    }
    event = AuditEvent(**fields, prev_hash=prev, hash=link_hash(prev, canonical(**fields)))
    session.add(event)
    await session.flush()
    return event
