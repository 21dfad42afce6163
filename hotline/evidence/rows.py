"""The tables held to the chain, for ``hotline verify``: each recording's row, each
case's long-term flag and each transcript version against the audit event that made it.
The chain is what cannot be rewritten unseen (its links, its signed checkpoints); a row
is only what the database says now. Re-hashing the bytes against the row alone would
miss a row rewritten with its file, pointed at another call's bytes, moved to another
case or deleted, a flag cleared, a transcript's words changed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col, select

from hotline.evidence.chain import transcript_digest
from hotline.evidence.chain_verify import SEALED, ChainWalk, Seal, seal_of
from hotline.evidence.files import KEY_PREFIX
from hotline.evidence.report import RecordingProblem, RecordingRow, Section, VerifyReport
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Case, Recording, Transcript

_BATCH = 1000

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
COLLECT = frozenset(
    {PRESERVATION_MARKED, PRESERVATION_LIFTED, TRANSCRIPT_CREATED, TRANSCRIPT_CORRECTED}
)
"""The events the walk keeps for these checks."""


def _misfiled(row: RecordingRow) -> bool:
    """The key is not the content address of the row's own hash (``sha256/ab/ab….wav``)."""
    own = f"{KEY_PREFIX}{row.sha256[:2]}/{row.sha256}"
    return not row.path.startswith(own) or "/" in row.path[len(own) :]


def _differences(row: RecordingRow, seal: Seal) -> list[str]:
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


async def _rows_now(db: Database, ids: Sequence[int]) -> dict[int, RecordingRow]:
    """The rows of recordings written after the table was read (the service ran on)."""
    found: dict[int, RecordingRow] = {}
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
                found[rec.id] = RecordingRow(
                    rec.sha256, rec.size, rec.stored_path, rec.object_version, case_id
                )
    return found


def _altered(report: VerifyReport, rid: int, row: RecordingRow, seal: Seal) -> None:
    differences = _differences(row, seal)
    if differences:
        detail = f"event {seal.event_seq}: the row says " + "; ".join(differences)
        report.recordings.append(
            RecordingProblem(rid, row.sha256, row.path, "altered", detail=detail)
        )


async def check_seals(
    db: Database, report: VerifyReport, rows: dict[int, RecordingRow], walk: ChainWalk
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
