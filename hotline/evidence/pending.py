"""Seals in flight, so an object stored without its recording row is never lost.

Sealing is two steps on two systems: the bytes go to the evidence backend, then one
database transaction records the recording. A process killed between the two leaves
an object that no recording names. Before the upload a ``pending_seals`` row says what
is being sealed; the recording's transaction removes it. At the next start
(``reconcile``) a row whose process is gone is checked against the backend: nothing
stored (the upload failed) → the row goes; the object is stored and a recording
names it → the row goes; stored and unnamed → it is reported once as
``recording.orphaned``. When the same file is offered again (``hotline ingest``, the
SIP line's spool, the PBX's recordings directory) the stored object is reused, not
sealed a second time, and the new recording adopts it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.evidence.backend import Backend, ObjectRef
from hotline.store.db import Database
from hotline.store.nodes import PendingSeal
from hotline.store.tables import Recording
from hotline.store.types import utcnow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=1)
"""A seal in flight this long, from another machine, belongs to a node that died."""


@dataclass(frozen=True, slots=True)
class Orphan:
    """A sealed object that no recording names."""

    ref: ObjectRef
    sha256: str
    size: int
    started_at: datetime

    def describe(self) -> str:
        return (
            f"sealed object {self.ref} (SHA-256 {self.sha256}, {self.size} bytes) has no "
            f"recording: the process sealing it at {self.started_at.isoformat()} stopped "
            "before recording it. Offer the file again (hotline ingest) to attach it; the "
            "stored object is reused"
        )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class PendingSeals:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.host = socket.gethostname()[:255]

    async def begin(self, key: str, sha256: str, size: int) -> int:
        async with self.db.session() as s:
            row = PendingSeal(key=key, sha256=sha256, size=size, host=self.host, pid=os.getpid())
            s.add(row)
            await s.flush()
            assert row.id is not None
            return row.id

    async def abandon(self, seal_id: int) -> None:
        """The upload failed: nothing to remember (best effort; ``reconcile`` also
        clears rows whose object does not exist)."""
        try:
            async with self.db.session() as s:
                await s.exec(delete(PendingSeal).where(col(PendingSeal.id) == seal_id))
        except Exception:
            log.warning("could not clear pending seal %s; the next start will", seal_id)

    @staticmethod
    async def settle(s: AsyncSession, key: str) -> None:
        """In the transaction that records a recording of ``key``."""
        await s.exec(delete(PendingSeal).where(col(PendingSeal.key) == key))

    async def reconcile(self, backend: Backend) -> list[Orphan]:
        """Check the seals that their processes left behind; return the objects found
        without a recording (each reported once)."""
        cutoff = utcnow() - STALE_AFTER
        async with self.db.session() as s:
            rows = (
                await s.exec(select(PendingSeal).where(col(PendingSeal.reported_at).is_(None)))
            ).all()
        dead = [
            r for r in rows if (r.host == self.host and not _alive(r.pid)) or r.started_at < cutoff
        ]
        orphans: list[Orphan] = []
        for row in dead:
            found = await asyncio.to_thread(backend.find, row.key, row.sha256)
            async with self.db.session() as s:
                named = (
                    await s.exec(select(Recording.id).where(col(Recording.stored_path) == row.key))
                ).first()
                if found is None or named is not None:
                    await s.exec(delete(PendingSeal).where(col(PendingSeal.id) == row.id))
                    continue
                fresh = await s.get(PendingSeal, row.id)
                if fresh is None or fresh.reported_at is not None:
                    continue  # another node reported it meanwhile
                fresh.reported_at = utcnow()
                s.add(fresh)
            orphans.append(Orphan(found[0], row.sha256, row.size, row.started_at))
        return orphans

    async def unclaimed(self) -> list[PendingSeal]:
        """Objects reported as orphaned and not adopted since."""
        async with self.db.session() as s:
            return list(
                (
                    await s.exec(
                        select(PendingSeal).where(col(PendingSeal.reported_at).is_not(None))
                    )
                ).all()
            )
