"""``hotline verify``: re-hash every sealed recording and walk the audit chain.

Recordings are hashed on a small thread pool (hashlib releases the GIL on large
buffers), so a store on a fast disk is checked at about the speed of the disk.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.evidence.files import EvidenceStore
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Recording

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class RecordingProblem:
    recording_id: int
    sha256: str
    path: str
    problem: str
    """``changed`` (bytes differ from the sealed hash) or ``missing``."""
    actual_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class BrokenLink:
    seq: int
    reason: str


@dataclass(slots=True)
class VerifyReport:
    recordings_checked: int = 0
    bytes_hashed: int = 0
    events_checked: int = 0
    seconds: float = 0.0
    recordings: list[RecordingProblem] = field(default_factory=list)
    broken_link: BrokenLink | None = None

    @property
    def ok(self) -> bool:
        return not self.recordings and self.broken_link is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "recordings_checked": self.recordings_checked,
            "bytes_hashed": self.bytes_hashed,
            "events_checked": self.events_checked,
            "seconds": round(self.seconds, 3),
            "recordings": [
                {
                    "id": p.recording_id,
                    "sha256": p.sha256,
                    "path": p.path,
                    "problem": p.problem,
                    "actual_sha256": p.actual_sha256,
                }
                for p in self.recordings
            ],
            "broken_link": None
            if self.broken_link is None
            else {"seq": self.broken_link.seq, "reason": self.broken_link.reason},
        }


Progress = Callable[[int], None]
"""Called with the number of bytes just hashed."""


def _check(store: EvidenceStore, rec: Recording) -> tuple[Recording, str | None, int]:
    state = store.inspect(store.ref(rec))
    return rec, state.sha256, state.size


async def verify_recordings(
    db: Database,
    store: EvidenceStore,
    report: VerifyReport,
    progress: Progress | None = None,
    threads: int | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    workers = threads or min(4, os.cpu_count() or 1)
    last_id = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
        while True:
            async with db.session() as s:
                batch = (
                    await s.exec(
                        select(Recording)
                        .where(col(Recording.id) > last_id)
                        .order_by(col(Recording.id))
                        .limit(_BATCH)
                    )
                ).all()
            if not batch:
                return
            last_id = batch[-1].id or last_id
            futures = [loop.run_in_executor(pool, _check, store, rec) for rec in batch]
            for done in asyncio.as_completed(futures):
                rec, digest, size = await done
                report.recordings_checked += 1
                report.bytes_hashed += size
                if progress is not None:
                    progress(size)
                if digest is None:
                    report.recordings.append(
                        RecordingProblem(rec.id or 0, rec.sha256, rec.stored_path, "missing")
                    )
                elif digest != rec.sha256:
                    report.recordings.append(
                        RecordingProblem(
                            rec.id or 0, rec.sha256, rec.stored_path, "changed", digest
                        )
                    )
    report.recordings.sort(key=lambda p: p.recording_id)


async def verify_chain(db: Database, report: VerifyReport) -> None:
    prev_hash, expected_seq = GENESIS, 1
    while True:
        async with db.session() as s:
            batch = (
                await s.exec(
                    select(AuditEvent)
                    .where(col(AuditEvent.seq) >= expected_seq)
                    .order_by(col(AuditEvent.seq))
                    .limit(_BATCH)
                )
            ).all()
        if not batch:
            return
        for ev in batch:
            report.events_checked += 1
            if ev.seq != expected_seq:
                report.broken_link = BrokenLink(
                    expected_seq, f"event {expected_seq} is missing (next is {ev.seq})"
                )
                return
            if ev.prev_hash != prev_hash:
                report.broken_link = BrokenLink(
                    ev.seq, "its previous-hash does not match the event before it"
                )
                return
            body = canonical(
                seq=ev.seq,
                at=ev.at,
                actor=ev.actor,
                action=ev.action,
                subject=ev.subject,
                case_id=ev.case_id,
                details=ev.details,
            )
            if link_hash(prev_hash, body) != ev.hash:
                report.broken_link = BrokenLink(
                    ev.seq, "its content does not match its hash (the event was altered)"
                )
                return
            prev_hash, expected_seq = ev.hash, ev.seq + 1


async def verify(
    db: Database, store: EvidenceStore, progress: Progress | None = None
) -> VerifyReport:
    report = VerifyReport()
    started = time.perf_counter()
    await verify_recordings(db, store, report, progress)
    await verify_chain(db, report)
    report.seconds = time.perf_counter() - started
    return report
