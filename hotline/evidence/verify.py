"""``hotline verify``: re-hash every sealed recording, walk the audit chain, check its
checkpoints (signatures, trusted timestamps) and checkpoints kept elsewhere, and say
which disc archives the chain records.

The report is a list of sections, one per kind of check, each saying how much it
checked, what failed (each failure naming what it is about) and notes that inform
without failing (no checkpoint yet, no timestamp authority set, a witness not given).

Recordings are read back through the evidence store and hashed on a thread pool,
several at once (hashlib releases the GIL on large buffers; S3 reads wait on the
network), streamed in 1 MiB blocks. Where the backend keeps versions (S3), each
recording's own version is the one hashed; its lock must be COMPLIANCE until at least
the recorded date; and the bucket's listing must hold no other version or delete
marker of a recording's key. Where the store takes legal holds, an object that a case
preserved long-term uses must carry one, and one that no such case uses must not
(``hotline.evidence.holds``); while a hold job of one of its cases has yet to run, a
difference is a note, not a failure. Each recording's row, each long-term flag and
each transcript version is also held to the audit event that made it
(``hotline.evidence.rows``); the report's shape is ``hotline.evidence.report``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlmodel import col, select

from hotline.evidence import holds
from hotline.evidence import rows as held
from hotline.evidence.backend import ObjectRef, ObjectState, StoredVersion
from hotline.evidence.chain_verify import (
    BrokenLink,
    ChainWalk,
    walk_chain,
    witness_problems,
    witness_summary,
)
from hotline.evidence.checkpoints import WitnessLine
from hotline.evidence.files import EvidenceStore, sha256_file
from hotline.evidence.keys import PublicKey
from hotline.evidence.report import Progress, RecordingProblem, RecordingRow, Section, VerifyReport
from hotline.evidence.rows import PRESERVATION_LIFTED, PRESERVATION_MARKED
from hotline.evidence.timestamps import Trust, check_timestamps
from hotline.evidence.versions import classify, lock_problem
from hotline.store.db import Database
from hotline.store.tables import Case, Recording

_BATCH = 1000

ARCHIVE_ACTION = "archive.created"
"""The audit action of a disc archive (``hotline archive create``)."""

__all__ = [
    "PRESERVATION_LIFTED",
    "PRESERVATION_MARKED",
    "BrokenLink",
    "RecordingProblem",
    "Section",
    "VerifyReport",
    "verify",
]


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
    rows_seen: dict[int, RecordingRow] | None = None,
) -> None:
    """Re-hash every recording; ``rows_seen`` is filled with what each row says, for
    ``check_seals``."""
    loop = asyncio.get_running_loop()
    workers = threads or min(4, os.cpu_count() or 1)
    last_id = 0
    named: dict[str, set[str | None]] = {}
    holders: dict[str, list[Recording]] = {}
    check_holds = await store.has_holds()
    uses: dict[ObjectRef, list[holds.Use]] = {}
    held: dict[ObjectRef, bool] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="verify") as pool:
        while True:
            async with db.session() as s:
                rows = (
                    await s.exec(
                        select(Recording, Case.id, Case.number, Case.preservation_reason)
                        .outerjoin(Case, col(Case.call_id) == col(Recording.call_id))
                        .where(col(Recording.id) > last_id)
                        .order_by(col(Recording.id))
                        .limit(_BATCH)
                    )
                ).all()
            if not rows:
                break
            batch = [row[0] for row in rows]
            last_id = batch[-1].id or last_id
            for rec, case_id, number, reason in rows:
                if rows_seen is not None and rec.id is not None:
                    rows_seen[rec.id] = RecordingRow(
                        rec.sha256, rec.size, rec.stored_path, rec.object_version, case_id
                    )
                named.setdefault(rec.stored_path, set()).add(rec.object_version)
                holders.setdefault(rec.stored_path, []).append(rec)
                if check_holds:
                    uses.setdefault(store.ref(rec), []).append(
                        holds.Use(rec.id or 0, case_id, number, bool(reason))
                    )
            futures = [loop.run_in_executor(pool, _check, store, rec) for rec in batch]
            for done in asyncio.as_completed(futures):
                rec, state = await done
                report.recordings_checked += 1
                report.bytes_hashed += state.size
                if progress is not None:
                    progress(state.size)
                report.recordings.extend(_problems(store, rec, state))
                if check_holds and state.sha256 is not None:
                    held[store.ref(rec)] = state.legal_hold
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
    if check_holds:
        await _check_holds(db, report, holders, uses, held)
    report.recordings.sort(key=lambda p: (p.recording_id, p.problem))


async def _check_holds(
    db: Database,
    report: VerifyReport,
    holders: dict[str, list[Recording]],
    uses: dict[ObjectRef, list[holds.Use]],
    held: dict[ObjectRef, bool],
) -> None:
    """Each object's legal hold against the flags of the cases that use it."""
    async with db.session() as s:
        pending = await holds.pending_cases(s)
    by_id = {rec.id: rec for recs in holders.values() for rec in recs}
    for ref, users in uses.items():
        if ref not in held:  # missing: reported as such
            continue
        found = holds.mismatch(held[ref], users)
        if found is None:
            continue
        problem, concerned = found
        waiting = any(use.case_id in pending for use in users)
        for use in concerned:
            rec = by_id[use.recording_id]
            case = use.case_number or "no case"
            if problem == holds.NOT_HELD:
                detail = f"version {ref.version}: no legal hold, but case {case} is preserved"
            else:
                detail = (
                    f"version {ref.version}: a legal hold, but no case preserved long-term "
                    f"uses it (case {case})"
                )
            if waiting:
                report.recording_notes.append(
                    f"recording {use.recording_id}: {rec.stored_path} {detail}; "
                    "its legal hold job has yet to run"
                )
                continue
            report.recordings.append(
                RecordingProblem(
                    use.recording_id,
                    rec.sha256,
                    rec.stored_path,
                    problem,
                    detail=detail,
                    case=use.case_number,
                )
            )


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


async def verify_chain(
    db: Database,
    report: VerifyReport,
    public: PublicKey | None = None,
    witness: Sequence[WitnessLine] | None = None,
) -> ChainWalk:
    """Walk the chain; fill the chain, checkpoint and witness sections."""
    walk = await walk_chain(
        db,
        public,
        remember=frozenset(w.checkpoint.seq for w in witness or ()),
        collect=frozenset({ARCHIVE_ACTION}) | held.COLLECT,
        seals=True,
    )
    report.events_checked = walk.events
    report.broken_link = walk.broken_link
    if walk.events:
        report.chain_head = (walk.head_seq, walk.head_hash)
    _fill_checkpoints(report.checkpoints, walk, public)
    if witness is None:
        report.witness.skipped = "no witness file given (--witness FILE)"
    elif public is None:
        report.witness.skipped = "no public key to check the witness's signatures with"
    else:
        report.witness.checked = len(witness)
        report.witness.figures.update(witness_summary(witness))
        report.witness.failures.extend(witness_problems(walk, witness, public))
        if not witness:
            report.witness.notes.append("the witness file holds no checkpoint")
    return walk


def _fill_checkpoints(section: Section, walk: ChainWalk, public: PublicKey | None) -> None:
    section.checked = len(walk.checkpoints)
    if public is None:
        section.skipped = "no public key: signatures not checked"
    for seen in walk.checkpoints:
        if seen.problem is not None:
            section.failures.append(f"{seen.describe()}: {seen.problem}")
    good = [seen for seen in walk.checkpoints if seen.problem is None and seen.checkpoint]
    if not walk.checkpoints:
        section.notes.append(
            "no checkpoint yet: whoever can write the database could rewrite the chain "
            "without this being detected (`hotline audit checkpoint`)"
        )
    elif good:
        newest = good[-1]
        assert newest.checkpoint is not None
        since = walk.head_seq - newest.event_seq
        section.figures["newest"] = {
            "event_seq": newest.event_seq,
            "seq": newest.checkpoint.seq,
            "hash": newest.checkpoint.hash,
            "at": newest.checkpoint.at.isoformat(),
        }
        section.figures["events_since_newest"] = since


def check_archives(section: Section, walk: ChainWalk) -> None:
    """The disc archives the chain records; an image still at the path it was written
    to is re-hashed (burned and removed ones are only listed)."""
    for ev in walk.collected:
        if ev.action != ARCHIVE_ACTION:
            continue
        for image in ev.details.get("images", []):
            section.checked += 1
            path = Path(str(image.get("path", "")))
            if not path.is_file():
                continue
            digest, _ = sha256_file(path)
            if digest != image.get("sha256"):
                section.failures.append(
                    f"archive image {path} (event {ev.seq}) is now {digest}, "
                    f"made as {image.get('sha256')}"
                )
            else:
                section.figures["images_on_disk"] = section.figures.get("images_on_disk", 0) + 1
    section.figures["archives"] = sum(1 for ev in walk.collected if ev.action == ARCHIVE_ACTION)


async def verify(
    db: Database,
    store: EvidenceStore,
    progress: Progress | None = None,
    concurrency: int | None = None,
    *,
    public: PublicKey | None = None,
    witness: Sequence[WitnessLine] | None = None,
    trust: Trust | None = None,
) -> VerifyReport:
    """Every check; ``public`` checks checkpoint signatures, ``witness`` the chain
    against checkpoints kept elsewhere, ``trust`` the timestamps (the TSA's
    certificate)."""
    report = VerifyReport()
    started = time.perf_counter()
    seen: dict[int, RecordingRow] = {}
    # Independent: the chain is walked on the loop while recordings hash on threads.
    _, walk = await asyncio.gather(
        verify_recordings(db, store, report, progress, concurrency, seen),
        verify_chain(db, report, public, witness),
    )
    await held.check_seals(db, report, seen, walk)
    await check_timestamps(db, report.timestamps, walk, trust)
    await held.check_preservation(db, report.preservation, walk)
    await held.check_transcripts(db, report.transcripts, walk)
    await asyncio.to_thread(check_archives, report.archives, walk)
    report.seconds = time.perf_counter() - started
    return report
