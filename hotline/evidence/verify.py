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
difference is a note, not a failure.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from hotline.evidence import holds
from hotline.evidence.backend import ObjectRef, ObjectState, StoredVersion
from hotline.evidence.chain import transcript_digest
from hotline.evidence.chain_verify import (
    SEALED,
    BrokenLink,
    ChainWalk,
    Seal,
    seal_of,
    walk_chain,
    witness_problems,
    witness_summary,
)
from hotline.evidence.checkpoints import WitnessLine
from hotline.evidence.files import KEY_PREFIX, EvidenceStore, sha256_file
from hotline.evidence.keys import PublicKey
from hotline.evidence.timestamps import Trust, check_timestamps
from hotline.evidence.versions import classify, lock_problem
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Case, Recording, Transcript

_BATCH = 1000

ARCHIVE_ACTION = "archive.created"
"""The audit action of a disc archive (``hotline archive create``)."""
PRESERVATION_MARKED = "case.preservation_marked"
PRESERVATION_LIFTED = "case.preservation_lifted"
"""The audit actions that flag a case for long-term preservation and lift the flag: the
case's row must say what the last of them said."""
TRANSCRIPT_CREATED = "transcript.created"
TRANSCRIPT_CORRECTED = "transcript.corrected"
"""The audit actions that make a transcript version (the machine's, a person's
correction); each names its versions and, since they carry one, their words' SHA-256."""
MIGRATED = "migration"
"""``preserved_by`` of a flag carried over from before the flags had events."""

__all__ = ["BrokenLink", "RecordingProblem", "Section", "VerifyReport", "verify"]


@dataclass(frozen=True, slots=True)
class RecordingProblem:
    recording_id: int
    sha256: str
    path: str
    problem: str
    """``changed`` (bytes differ from the sealed hash), ``missing``, ``unlocked`` (not
    held in COMPLIANCE mode until the recorded date), ``extra-version`` (the key has
    a version or delete marker that no recording names), ``no-legal-hold`` (its case
    is preserved long-term, its object has no legal hold) or ``stray-legal-hold`` (its
    object has a legal hold that no preserved case needs); and against the chain:
    ``altered`` (the row no longer says what its ``recording.sealed`` event sealed: its
    hash, size, case or version), ``unsealed`` (no such event names the row),
    ``misfiled`` (its key is not the address of its own hash) and ``deleted`` (a
    sealed recording that no row names now)."""
    actual_sha256: str | None = None
    detail: str | None = None
    """The version, and what is wrong with its lock, its hold or the extra version."""
    case: str | None = None
    """The number of the recording's case, where the problem is about it (holds)."""

    def describe(self) -> str:
        where = f"recording {self.recording_id}: {self.path}"
        if self.problem == "missing":
            return f"{where} is missing (sealed {self.sha256})"
        if self.problem == "changed":
            return f"{where} is now {self.actual_sha256}, sealed as {self.sha256}"
        if self.problem == "deleted":
            return f"recording {self.recording_id} is gone: {self.detail}"
        return f"{where}: {self.problem} ({self.detail})"


@dataclass(slots=True)
class Section:
    """One kind of check."""

    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the check did not run (nothing to check with), if it did not."""
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "checked": self.checked,
            "failures": list(self.failures),
            "notes": list(self.notes),
            "skipped": self.skipped,
            **self.figures,
        }


@dataclass(frozen=True, slots=True)
class _Row:
    """What the recordings table says of one recording, for the check against its seal."""

    sha256: str
    size: int
    path: str
    version: str | None
    case_id: int | None


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
    recording_notes: list[str] = field(default_factory=list)
    """Holds that differ from the flags while a hold job is still to run."""
    chain_head: tuple[int, str] | None = None
    checkpoints: Section = field(default_factory=lambda: Section("checkpoints"))
    timestamps: Section = field(default_factory=lambda: Section("timestamps"))
    witness: Section = field(default_factory=lambda: Section("witness"))
    archives: Section = field(default_factory=lambda: Section("archives"))
    preservation: Section = field(default_factory=lambda: Section("preservation"))
    transcripts: Section = field(default_factory=lambda: Section("transcripts"))

    @property
    def sections(self) -> list[Section]:
        recordings = Section(
            "recordings",
            checked=self.recordings_checked,
            failures=[p.describe() for p in self.recordings],
            notes=list(self.recording_notes),
            figures={"bytes_hashed": self.bytes_hashed},
        )
        chain = Section("chain", checked=self.events_checked)
        if self.broken_link is not None:
            chain.failures.append(
                f"audit chain broken at event {self.broken_link.seq}: {self.broken_link.reason}"
            )
        if self.chain_head is not None:
            chain.figures["head"] = {"seq": self.chain_head[0], "hash": self.chain_head[1]}
        return [
            recordings,
            chain,
            self.checkpoints,
            self.timestamps,
            self.witness,
            self.archives,
            self.preservation,
            self.transcripts,
        ]

    @property
    def ok(self) -> bool:
        return all(section.ok for section in self.sections)

    @property
    def failures(self) -> list[str]:
        return [failure for section in self.sections for failure in section.failures]

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
                    "case": p.case,
                }
                for p in self.recordings
            ],
            "unclaimed": list(self.unclaimed),
            "broken_link": None
            if self.broken_link is None
            else {"seq": self.broken_link.seq, "reason": self.broken_link.reason},
            "failures": self.failures,
            "sections": [section.to_dict() for section in self.sections],
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
    rows_seen: dict[int, _Row] | None = None,
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
                    rows_seen[rec.id] = _Row(
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


def _misfiled(row: _Row) -> bool:
    """The key is not the content address of the row's own hash (``sha256/ab/ab….wav``)."""
    own = f"{KEY_PREFIX}{row.sha256[:2]}/{row.sha256}"
    return not row.path.startswith(own) or "/" in row.path[len(own) :]


def _differences(row: _Row, seal: Seal) -> list[str]:
    found = []
    if row.sha256 != seal.sha256:
        found.append(f"SHA-256 {row.sha256}, sealed as {seal.sha256}")
    if seal.size is not None and row.size != seal.size:
        found.append(f"{row.size} bytes, sealed as {seal.size}")
    if row.case_id != seal.case_id:
        now = "no case" if row.case_id is None else f"case id {row.case_id}"
        found.append(f"{now}, sealed into case id {seal.case_id}")
    if seal.version is not None and row.version != seal.version:
        found.append(f"version {row.version}, sealed as {seal.version}")
    return found


async def _seals_now(db: Database, ids: Sequence[int]) -> dict[int, Seal]:
    """The seals of recordings sealed after the walk passed (the service ran on)."""
    if not ids:
        return {}
    found: dict[int, Seal] = {}
    for chunk in _chunks(ids):
        subjects = [f"recording:{rid}" for rid in chunk]
        async with db.session() as s:
            events = (
                await s.exec(
                    select(AuditEvent)
                    .where(col(AuditEvent.action) == SEALED)
                    .where(col(AuditEvent.subject).in_(subjects))
                    .order_by(col(AuditEvent.seq))
                )
            ).all()
        for ev in events:
            seal = seal_of(ev)
            if seal is not None:
                found.setdefault(seal.recording_id, seal)
    return found


def _chunks(ids: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    """``ids`` in lists short enough for one ``IN (…)`` on any database."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


async def _rows_now(db: Database, ids: Sequence[int]) -> dict[int, _Row]:
    """The rows of recordings written after the table was read (the service ran on)."""
    found: dict[int, _Row] = {}
    for chunk in _chunks(ids):
        async with db.session() as s:
            rows = (
                await s.exec(
                    select(Recording, Case.id)
                    .outerjoin(Case, col(Case.call_id) == col(Recording.call_id))
                    .where(col(Recording.id).in_(list(chunk)))
                )
            ).all()
        for rec, case_id in rows:
            if rec.id is not None:
                found[rec.id] = _Row(
                    rec.sha256, rec.size, rec.stored_path, rec.object_version, case_id
                )
    return found


def _altered(report: VerifyReport, rid: int, row: _Row, seal: Seal) -> None:
    differences = _differences(row, seal)
    if differences:
        detail = f"event {seal.event_seq}: the row says " + "; ".join(differences)
        report.recordings.append(
            RecordingProblem(rid, row.sha256, row.path, "altered", detail=detail)
        )


async def check_seals(
    db: Database, report: VerifyReport, rows: dict[int, _Row], walk: ChainWalk
) -> None:
    """Each recording's row against its ``recording.sealed`` event, and each sealed
    recording against the table: the chain holds what was sealed, the row is only
    where it is found. Re-hashing the bytes against the row alone would miss a row
    rewritten with the file (another audio and its hash), pointed at another call's
    bytes, moved to another case, or deleted with its file."""
    seals = dict(walk.seals)
    # What one read missed because the service sealed more meanwhile is read again.
    seals.update(await _seals_now(db, [rid for rid in rows if rid not in seals]))
    late = await _rows_now(db, [rid for rid in seals if rid not in rows])
    for rid, row in sorted(rows.items()):
        if _misfiled(row):
            report.recordings.append(
                RecordingProblem(
                    rid,
                    row.sha256,
                    row.path,
                    "misfiled",
                    detail=f"the row says SHA-256 {row.sha256}; its key names other bytes",
                )
            )
        seal = seals.get(rid)
        if seal is None:
            if walk.broken_link is None:
                report.recordings.append(
                    RecordingProblem(
                        rid,
                        row.sha256,
                        row.path,
                        "unsealed",
                        detail="no recording.sealed event of the audit chain names it",
                    )
                )
            continue
        _altered(report, rid, row, seal)
    for rid, seal in sorted(seals.items()):
        if rid in rows:
            continue
        written = late.get(rid)
        if written is not None:  # sealed while this ran: compared, not re-hashed
            _altered(report, rid, written, seal)
            continue
        case = "no case" if seal.case_id is None else f"case id {seal.case_id}"
        report.recordings.append(
            RecordingProblem(
                rid,
                seal.sha256,
                "",
                "deleted",
                detail=(
                    f"sealed in event {seal.event_seq} (SHA-256 {seal.sha256}, {case}), "
                    "no row names it now"
                ),
            )
        )
    report.recordings.sort(key=lambda p: (p.recording_id, p.problem))


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
        collect=frozenset(
            {
                ARCHIVE_ACTION,
                PRESERVATION_MARKED,
                PRESERVATION_LIFTED,
                TRANSCRIPT_CREATED,
                TRANSCRIPT_CORRECTED,
            }
        ),
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


async def check_preservation(db: Database, section: Section, walk: ChainWalk) -> None:
    """Each case's long-term preservation flag against the last event that set or lifted
    it: a flag cleared in the database alone would let the case out of the preserved
    discs and the holds, with nothing to show for it."""
    said: dict[int, tuple[int, str]] = {}
    for ev in walk.collected:
        if ev.case_id is None:
            continue
        if ev.action == PRESERVATION_MARKED:
            said[ev.case_id] = (ev.seq, str(ev.details.get("reason", "")))
        elif ev.action == PRESERVATION_LIFTED:
            said[ev.case_id] = (ev.seq, "")
    async with db.connection() as conn:
        rows = (
            await conn.execute(
                select(
                    col(Case.id),
                    col(Case.number),
                    col(Case.preservation_reason),
                    col(Case.preserved_by),
                )
            )
        ).all()
    for case_id, number, reason, preserved_by in rows:
        section.checked += 1
        event = said.get(case_id) if case_id is not None else None
        if event is None:
            if reason and preserved_by != MIGRATED and walk.broken_link is None:
                section.failures.append(
                    f"case {number} is flagged for long-term preservation ({reason}), "
                    "but no case.preservation_marked event says so"
                )
            continue
        seq, expected = event
        if reason != expected:
            chain = f"flagged ({expected})" if expected else "not flagged (lifted)"
            row = f"flagged ({reason})" if reason else "not flagged"
            section.failures.append(
                f"case {number}: event {seq} leaves it {chain}, its row says {row}"
            )


def _made(walk: ChainWalk) -> dict[int, tuple[int, str | None]]:
    """Each transcript version an event made: the event, and its words' SHA-256 where
    the event keeps one."""
    made: dict[int, tuple[int, str | None]] = {}
    for ev in walk.collected:
        if ev.action == TRANSCRIPT_CREATED:
            kind, _, tid = ev.subject.partition(":")
            if kind == "transcript" and tid.isascii() and tid.isdecimal():
                digest = ev.details.get("sha256")
                made.setdefault(int(tid), (ev.seq, digest if isinstance(digest, str) else None))
        elif ev.action == TRANSCRIPT_CORRECTED:
            ids = ev.details.get("transcripts") or []
            digests = ev.details.get("sha256") or []
            for n, tid in enumerate(ids):
                if isinstance(tid, int):
                    digest = digests[n] if n < len(digests) else None
                    made.setdefault(tid, (ev.seq, digest if isinstance(digest, str) else None))
    return made


async def check_transcripts(db: Database, section: Section, walk: ChainWalk) -> None:
    """Each transcript version's words against the SHA-256 the event that made it keeps:
    a machine transcript or a correction rewritten in the database ("I want to withdraw
    my report") is named, and so is a version no event made, or one deleted."""
    made = _made(walk)
    seen: set[int] = set()
    unsealed_before = 0
    last = 0
    while True:
        async with db.session() as s:
            rows = (
                await s.exec(
                    select(Transcript)
                    .where(col(Transcript.id) > last)
                    .order_by(col(Transcript.id))
                    .limit(_BATCH)
                )
            ).all()
        if not rows:
            break
        last = rows[-1].id or last
        for row in rows:
            tid = row.id or 0
            seen.add(tid)
            section.checked += 1
            event = made.get(tid)
            if event is None:
                if walk.broken_link is None:
                    section.failures.append(
                        f"transcript {tid} (case id {row.case_id}, version {row.version}): "
                        "no transcript.created or transcript.corrected event made it"
                    )
                continue
            seq, digest = event
            if digest is None:
                unsealed_before += 1
                continue
            if transcript_digest(row.text, row.segments) != digest:
                section.failures.append(
                    f"transcript {tid} (case id {row.case_id}, version {row.version}): its "
                    f"words are not those event {seq} sealed (SHA-256 {digest[:16]}…)"
                )
    for tid, (seq, _digest) in sorted(made.items()):
        if tid not in seen and tid <= last:
            section.failures.append(f"transcript {tid} is gone: event {seq} made it")
    if unsealed_before:
        section.notes.append(
            f"{unsealed_before} transcript versions were made before their events kept "
            "the words' SHA-256: they are not compared"
        )


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
    rows: dict[int, _Row] = {}
    # Independent: the chain is walked on the loop while recordings hash on threads.
    _, walk = await asyncio.gather(
        verify_recordings(db, store, report, progress, concurrency, rows),
        verify_chain(db, report, public, witness),
    )
    await check_seals(db, report, rows, walk)
    await check_timestamps(db, report.timestamps, walk, trust)
    await check_preservation(db, report.preservation, walk)
    await check_transcripts(db, report.transcripts, walk)
    await asyncio.to_thread(check_archives, report.archives, walk)
    report.seconds = time.perf_counter() - started
    return report
