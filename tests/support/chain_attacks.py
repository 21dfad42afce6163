"""What someone who can write the database does to the audit chain: change an event and
recompute every later hash (a valid chain again), or cut its tail. Plain SQL on the
table, as a DBA or a script would, bypassing hotline entirely."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.store.db import Database
from hotline.store.tables import AuditEvent


async def rewrite(db: Database, seq: int, **changes: Any) -> None:
    """Change event ``seq`` and recompute the hash of it and of every event after it."""
    async with db.session() as s:
        rows = list(
            (
                await s.exec(
                    select(AuditEvent)
                    .where(col(AuditEvent.seq) >= seq - 1)
                    .order_by(col(AuditEvent.seq))
                )
            ).all()
        )
        prev = GENESIS
        if rows and rows[0].seq == seq - 1:
            prev = rows.pop(0).hash
        for ev in rows:
            values = {
                "at": ev.at,
                "actor": ev.actor,
                "action": ev.action,
                "subject": ev.subject,
                "case_id": ev.case_id,
                "details": ev.details,
            }
            if ev.seq == seq:
                values.update(changes)
            digest = link_hash(prev, canonical(seq=ev.seq, **values))
            await s.exec(
                update(AuditEvent)
                .where(col(AuditEvent.seq) == ev.seq)
                .values(**values, prev_hash=prev, hash=digest)
            )
            prev = digest


async def cut_after(db: Database, seq: int) -> None:
    """Delete every event after ``seq``: the chain that is left is still valid."""
    async with db.session() as s:
        await s.exec(delete(AuditEvent).where(col(AuditEvent.seq) > seq))
