"""``hotline verify``: re-hash every sealed recording and walk the audit chain.

Recordings are read back through the evidence store and hashed on a thread pool,
several at once (hashlib releases the GIL on large buffers; S3 reads wait on the
network), streamed in 1 MiB blocks. Where the backend keeps versions (S3), each
recording's own version is the one hashed; its lock must be COMPLIANCE until at least
the recorded date; and the bucket's listing must hold no other version or delete
marker of a recording's key.
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

from hotline.evidence.backend import ObjectRef, ObjectState, StoredVersion
from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.evidence.files import EvidenceStore
from hotline.evidence.versions import classify, lock_problem
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Recording

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class RecordingProblem:
    recording_id: int
    sha256: str
    path: str
    problem: str
    """``changed`` (bytes differ from the sealed hash), ``missing``, ``unlocked`` (not
    held in COMPLIANCE mode until the recorded date) or ``extra-version`` (the key has
    a version or delete marker that no recording names)."""
    actual_sha256: str | None = None
    detail: str | None = None
    """The version, and what is wrong with its lock or the extra version."""


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
    unclaimed: list[str] = field(default_factory=list)
    """Stored objects no recording names (an upload whose commit failed, reported at
    start as ``recording.orphaned``); not evidence of anything, so not a failure."""

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
                    "detail": p.detail,
                }
                for p in self.recordings
            ],
            "unclaimed": list(self.unclaimed),
            "broken_link": None
            if self.broken_link is None
            else {"seq": self.broken_link.seq, "reason": self.broken_link.reason},
        }


Progress = Callable[[int], None]
"""Called with the number of bytes just hashed."""


def _check(store: EvidenceStore, rec: Recording) -> tuple[Recording, ObjectState]:
    return rec, store.inspect(store.ref(rec))


def _problems(store: EvidenceStore, rec: Recording, state: ObjectState) -> list[RecordingProblem]:
    rid, where = rec.id or 0, rec.stored_path
    if state.sha256 is None:
        detail = None if rec.object_version is None else f"version {rec.object_version}"
        return [RecordingProblem(rid, rec.sha256, where, "missing", detail=detail)]
    found = []
    if state.sha256 != rec.sha256:
        found.append(RecordingProblem(rid, rec.sha256, where, "changed", state.sha256))
    if store.backend.keeps_versions:
        why = lock_problem(state, rec.retain_until)
        if why is not None:
            detail = f"version {rec.object_version}: {why}"
            found.append(RecordingProblem(rid, rec.sha256, where, "unlocked", detail=detail))
    return found


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
    named: dict[str, set[str | None]] = {}
    holders: dict[str, list[Recording]] = {}
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
                break
            last_id = batch[-1].id or last_id
            for rec in batch:
                named.setdefault(rec.stored_path, set()).add(rec.object_version)
                holders.setdefault(rec.stored_path, []).append(rec)
            futures = [loop.run_in_executor(pool, _check, store, rec) for rec in batch]
            for done in asyncio.as_completed(futures):
                rec, state = await done
                report.recordings_checked += 1
                report.bytes_hashed += state.size
                if progress is not None:
                    progress(state.size)
                report.recordings.extend(_problems(store, rec, state))
        listing = classify(await loop.run_in_executor(pool, lambda: list(store.versions())), named)
        for key, extras in listing.extra.items():
            for entry in extras:
                detail = await loop.run_in_executor(pool, _extra_detail, store, entry, holders)
                if detail is None:
                    continue
                for rec in holders[key]:
                    report.recordings.append(
                        RecordingProblem(
                            rec.id or 0, rec.sha256, key, "extra-version", detail=detail
                        )
                    )
        report.unclaimed.extend(
            str(ObjectRef(e.key, e.version)) for e in listing.unclaimed if not e.delete_marker
        )
    report.recordings.sort(key=lambda p: (p.recording_id, p.problem))


def _extra_detail(
    store: EvidenceStore, entry: StoredVersion, holders: dict[str, list[Recording]]
) -> str | None:
    """What an unnamed version of a recording's key is; ``None`` when it holds the
    sealed bytes again (two nodes sealed the same bytes at once): harmless."""
    if entry.delete_marker:
        return f"delete marker {entry.version}: someone tried to delete the recording"
    state = store.inspect(ObjectRef(entry.key, entry.version))
    if state.sha256 == holders[entry.key][0].sha256:
        return None
    return (
        f"version {entry.version} ({entry.size} bytes, SHA-256 {state.sha256}) was "
        "written over the sealed one"
    )


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
    db: Database,
    store: EvidenceStore,
    progress: Progress | None = None,
    concurrency: int | None = None,
) -> VerifyReport:
    report = VerifyReport()
    started = time.perf_counter()
    # Independent: the chain is walked on the loop while recordings hash on threads.
    await asyncio.gather(
        verify_recordings(db, store, report, progress, concurrency), verify_chain(db, report)
    )
    report.seconds = time.perf_counter() - started
    return report
