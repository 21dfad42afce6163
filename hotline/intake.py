"""From a recording to a sealed draft case.

``Intake`` takes recordings from ``hotline ingest`` and call facts from the call
sources. For each recording it checks the audio, copies it into the evidence store,
seals it, and in one transaction records the call, the recording, a draft case (the
first recording of a call opens it), the transcription job and their audit events.

A recording belongs to the call that made it. Identical bytes from another call (two
callers who hang up during the notice, a silent caller whose mix equals the operator
leg) are that call's own recording, in its own case, with their own audit events; the
evidence store keeps the bytes once. Only a *re-offer* is idempotent, pointing to the
recording sealed before and saying so:

* from a call source: the same file (name and bytes) for the same call (a restart, a
  reconnect, the orphan scan, a fact delivered twice);
* from ``hotline ingest``, where each import is a call of its own: the same file name
  with the same bytes, whichever call sealed it.

May import: ``hotline.calls``, ``hotline.cases``, ``hotline.evidence``, ``hotline.jobs``,
``hotline.phone``, ``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline import calls as facts
from hotline import notes
from hotline.cases import next_case_number
from hotline.config import Settings
from hotline.errors import RecordingRejected
from hotline.evidence.audio import AudioInfo, inspect_file
from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore, Sealed, Staged
from hotline.evidence.holds import follow as follow_holds
from hotline.jobs import JobQueue
from hotline.phone import to_e164
from hotline.store.db import Database
from hotline.store.tables import Call, CallState, Case, Incident, Job, JobStatus, Recording
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox

log = logging.getLogger(__name__)

TRANSCRIBE = "transcribe"


@dataclass(frozen=True, slots=True)
class IngestResult:
    case: Case
    call: Call
    recording: Recording
    duplicate: bool
    """The bytes were sealed before; nothing new was stored."""
    incident: Incident | None = None


EXTERNAL_ID = 128
"""Characters the calls table keeps of a source's call id."""


def external_id(call_id: str) -> str:
    """A source's call id as the calls table keeps it: as it is, or, past 128 characters
    (a SIP Call-ID is the caller's to choose), its start and a hash of the whole, so that
    the call is stored, not refused by the database, and two long ids stay two calls."""
    if len(call_id) <= EXTERNAL_ID:
        return call_id
    digest = hashlib.sha256(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{call_id[: EXTERNAL_ID - 17]}#{digest}"


class Intake:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: EvidenceStore,
        queue: JobQueue,
        outbox: Outbox,
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.queue = queue
        self.outbox = outbox

    # --- hotline ingest ------------------------------------------------------------

    async def ingest_file(
        self,
        path: Path,
        *,
        caller: str,
        started_at: datetime | None = None,
        actor: str = "cli",
    ) -> IngestResult:
        """Import a finished recording as a call of its own."""
        info, staged = await asyncio.to_thread(self._stage, path)
        try:
            if started_at is None:
                # A PBX closes the file when the call ends: mtime is the hang-up time.
                mtime = (await asyncio.to_thread(path.stat)).st_mtime
                ended = datetime.fromtimestamp(mtime, tz=UTC)
                started_at = ended - timedelta(seconds=info.duration)
            dup = await self._reoffered(staged, path, actor)
            if dup is not None:
                return dup
            sealed = await self.store.seal(staged)
        finally:
            self.store.discard(staged)
        call = Call(
            source="import",
            # Named after the file, so that two processes importing it at once make one
            # call: the second insert fails and finds the first one's recording.
            external_id=_import_id(staged.sha256, path.name),
            caller_raw=caller,
            caller_e164=to_e164(caller),
            state=CallState.ENDED,
            started_at=started_at,
            answered_at=started_at,
            ended_at=started_at + timedelta(seconds=info.duration),
        )
        try:
            async with self.db.session() as s:
                s.add(call)
                await s.flush()
                await append_audit(
                    s,
                    actor=actor,
                    action="call.imported",
                    subject=f"call:{call.id}",
                    details={"caller": caller, "file": path.name},
                )
                return await self._attach(s, call, sealed, info, original=path.name, actor=actor)
        except IntegrityError:
            # Another process imported the same file between our check and our insert.
            dup = await self._reoffered(staged, path, actor)
            if dup is None:
                raise
            return dup

    # --- call facts from the sources ---------------------------------------------

    async def handle(self, fact: facts.CallFact) -> IngestResult | None:
        """Persist one call fact. Returns the result for a ``RecordingFinished``."""
        match fact:
            case facts.CallStarted():
                await self._call_started(fact)
            case facts.CallAnswered():
                await self._update_call(
                    fact.call_id, "call.answered", answered_at=fact.at, state=CallState.ANSWERED
                )
            case facts.RecordingStarted():
                await self._recording_started(fact)
            case facts.RecordingFinished():
                return await self._recording_finished(fact)
            case facts.CallEnded():
                await self._update_call(
                    fact.call_id,
                    "call.ended",
                    ended_at=fact.at,
                    state=CallState.ENDED,
                    end_cause=fact.cause[:64],
                )
            case facts.Incident():
                await self.record_incident(fact)
        return None

    async def _call_started(self, fact: facts.CallStarted) -> None:
        async with self.db.session() as s:
            existing = await self._find_call(s, fact.call_id)
            if existing is not None:
                return  # adopted again after a reconnect
            call = Call(
                source=fact.source,
                external_id=external_id(fact.call_id),
                caller_raw=fact.caller[:64],
                caller_e164=to_e164(fact.caller),
                caller_name=fact.caller_name[:128],
                callee=fact.callee[:64],
                started_at=fact.at,
            )
            s.add(call)
            await s.flush()
            await append_audit(
                s,
                actor=f"system:{fact.source}",
                action="call.started",
                subject=f"call:{call.id}",
                details={"caller": fact.caller, "callee": fact.callee},
                at=fact.at,
            )

    async def _find_call(self, s: AsyncSession, call_id: str) -> Call | None:
        ref = external_id(call_id)
        return (await s.exec(select(Call).where(col(Call.external_id) == ref))).first()

    async def _update_call(self, external_id: str, action: str, **values: Any) -> None:
        async with self.db.session() as s:
            call = await self._find_call(s, external_id)
            if call is None:
                log.warning("%s for unknown call %s", action, external_id)
                return
            if action == "call.answered" and call.answered_at is not None:
                return
            if action == "call.ended" and call.state == CallState.ENDED:
                return  # told again (a restart, a replayed session)
            for key, value in values.items():
                setattr(call, key, value)
            s.add(call)
            details = {
                k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()
            }
            await append_audit(
                s,
                actor=f"system:{call.source}",
                action=action,
                subject=f"call:{call.id}",
                details=details,
            )

    async def _recording_started(self, fact: facts.RecordingStarted) -> None:
        async with self.db.session() as s:
            call = await self._find_call(s, fact.call_id)
            if (
                call is not None
                and (
                    await s.exec(
                        select(Recording.id).where(
                            col(Recording.call_id) == call.id,
                            col(Recording.original_name) == PurePosixPath(fact.name).name[:255],
                        )
                    )
                ).first()
            ):
                return  # sealed already: the start is told again (a restart, a replay)
            await append_audit(
                s,
                actor=f"system:{call.source if call else 'unknown'}",
                action="recording.started",
                subject=f"call:{call.id}" if call else f"external:{fact.call_id}",
                details={"name": fact.name, "leg": fact.leg},
            )

    async def record_incident(self, fact: facts.Incident) -> Incident:
        async with self.db.session() as s:
            call = await self._find_call(s, fact.call_id) if fact.call_id else None
            case = None
            if call is not None:
                case = (await s.exec(select(Case).where(col(Case.call_id) == call.id))).first()
            incident = Incident(
                kind=fact.kind,
                at=fact.at,
                detail=fact.detail,
                call_id=call.id if call else None,
                case_id=case.id if case else None,
                source_call_id=external_id(fact.call_id or ""),
            )
            s.add(incident)
            await s.flush()
            await append_audit(
                s,
                actor="system",
                action=f"incident.{fact.kind}",
                subject=f"incident:{incident.id}",
                case_id=incident.case_id,
                details={"detail": fact.detail, "call": fact.call_id},
                at=fact.at,
            )
            await self.outbox.incident(s, incident)
        log.warning("incident %s: %s", fact.kind, fact.detail, extra={"call_id": fact.call_id})
        return incident

    async def _recording_finished(self, fact: facts.RecordingFinished) -> IngestResult:
        info, staged = await asyncio.to_thread(self._stage, fact.path)
        actor = "system"
        try:
            dup = await self._reoffered(staged, fact.path, actor, call=fact.call_id)
            if dup is not None:
                return dup
            sealed = await self.store.seal(staged)
        finally:
            self.store.discard(staged)
        async with self.db.session() as s:
            call = await self._find_call(s, fact.call_id)
            if call is None:
                # A recording nobody announced (found by a scan after a restart): adopt it.
                call = Call(
                    source="recovered",
                    external_id=external_id(fact.call_id),
                    started_at=fact.started_at,
                    state=CallState.ENDED,
                    ended_at=fact.at,
                )
                s.add(call)
                await s.flush()
            actor = f"system:{call.source}"
            result = await self._attach(
                s,
                call,
                sealed,
                info,
                original=fact.path.name,
                actor=actor,
                sequence=fact.sequence,
                leg=fact.leg,
                expected=fact.expected_duration,
                details=dict(fact.details),
            )
        tolerance = self.settings.recording_tolerance_seconds
        if (
            fact.expected_duration is not None
            and info.duration < fact.expected_duration - tolerance
        ):
            incident = await self.record_incident(
                facts.Incident(
                    kind=facts.IncidentKind.INCOMPLETE,
                    at=fact.at,
                    call_id=fact.call_id,
                    detail=(
                        f"recording {fact.path.name} lasts {info.duration:.2f} s, "
                        f"the call needed {fact.expected_duration:.2f} s"
                    ),
                )
            )
            return IngestResult(result.case, result.call, result.recording, False, incident)
        return result

    # --- shared steps ----------------------------------------------------------------

    def _stage(self, path: Path) -> tuple[AudioInfo, Staged]:
        """Check the file, copy it in, and check the copy (the source may still change)."""
        inspect_file(path)
        staged = self.store.stage(path)
        try:
            info = inspect_file(staged.tmp_path, suffix=staged.suffix)
        except RecordingRejected as exc:
            self.store.discard(staged)
            raise RecordingRejected(str(exc).replace(str(staged.tmp_path), str(path))) from None
        except BaseException:
            self.store.discard(staged)
            raise
        return info, staged

    async def _reoffered(
        self, staged: Staged, path: Path, actor: str, *, call: str | None = None
    ) -> IngestResult | None:
        """The recording sealed before from this same file (name and bytes) and, for a
        call source, for this same call (``call``, the source's id); ``None`` if none."""
        async with self.db.session() as s:
            query = select(Recording).where(
                col(Recording.sha256) == staged.sha256,
                col(Recording.original_name) == path.name[:255],
            )
            if call is not None:
                query = query.join(Call, col(Call.id) == col(Recording.call_id)).where(
                    col(Call.external_id) == external_id(call)
                )
            rec = (await s.exec(query.order_by(col(Recording.id)))).first()
            if rec is None:
                return None
            owner = await s.get(Call, rec.call_id)
            case = (await s.exec(select(Case).where(col(Case.call_id) == rec.call_id))).first()
            assert owner is not None and case is not None
            await append_audit(
                s,
                actor=actor,
                action="recording.duplicate",
                subject=f"recording:{rec.id}",
                case_id=case.id,
                details={"file": path.name, "sha256": rec.sha256},
            )
        log.info("%s is already sealed as recording %s (case %s)", path, rec.id, case.number)
        return IngestResult(case, owner, rec, duplicate=True)

    async def _attach(
        self,
        s: AsyncSession,
        call: Call,
        sealed: Sealed,
        info: AudioInfo,
        *,
        original: str,
        actor: str,
        sequence: int = 0,
        leg: str = "mix",
        expected: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> IngestResult:
        """Recording row, draft case (if the call has none), transcription job, audit."""
        assert call.id is not None
        rec = Recording(
            sha256=sealed.sha256,
            size=sealed.size,
            stored_path=sealed.key,
            object_version=sealed.ref.version,
            retain_until=sealed.retain_until,
            content_type=info.content_type,
            codec=info.codec,
            sample_rate=info.sample_rate,
            channels=info.channels,
            duration=info.duration,
            original_name=original[:255],
            call_id=call.id,
            sequence=sequence,
            leg=leg,
            expected_duration=expected,
            details=details or {},
        )
        s.add(rec)
        await self.store.settle(s, sealed)
        case = (await s.exec(select(Case).where(col(Case.call_id) == call.id))).first()
        opened = case is None
        if case is None:
            now = utcnow()
            number = await next_case_number(s, self.settings.case_prefix, now, self.settings.tz)
            case = Case(number=number, call_id=call.id, created_at=now, updated_at=now)
            s.add(case)
        else:
            case.updated_at = utcnow()
            s.add(case)
        await s.flush()
        assert rec.id is not None and case.id is not None
        await append_audit(
            s,
            actor=actor,
            action="recording.sealed",
            subject=f"recording:{rec.id}",
            case_id=case.id,
            details={
                "sha256": rec.sha256,
                "size": rec.size,
                "duration": round(rec.duration, 3),
                "codec": rec.codec,
                "file": original,
                **sealed.audit_details(),
            },
        )
        if opened:
            await append_audit(
                s,
                actor=actor,
                action="case.opened",
                subject=f"case:{case.id}",
                case_id=case.id,
                details={"number": case.number, "status": case.status, "call": call.id},
            )
            # The operator's intake form, typed while the call was live, joins the case.
            await notes.apply_pending(s, call, case, outbox=self.outbox)
            await self.outbox.case_opened(s, case)
        elif case.preservation_reason:  # sealed into a case kept long-term: held too
            follow_holds(s, self.queue, self.settings, case, "sealed")
        if await self._worth_transcribing(s, rec, case.id):
            job = self.queue.enqueue(s, TRANSCRIBE, {"recording_id": rec.id}, case_id=case.id)
            await s.flush()
            await append_audit(
                s,
                actor=actor,
                action="transcription.queued",
                subject=f"job:{job.id}",
                case_id=case.id,
                details={"recording_id": rec.id},
            )
        return IngestResult(case, call, rec, duplicate=False)

    async def _worth_transcribing(self, s: AsyncSession, rec: Recording, case_id: int) -> bool:
        """The mix holds everything said on the call (the caller's message included);
        single legs are transcribed only when there is no mix to read."""
        if rec.leg == "mix":
            # Legs sealed before their mix no longer need reading on their own.
            legs = set(
                (
                    await s.exec(
                        select(Recording.id).where(
                            col(Recording.call_id) == rec.call_id,
                            col(Recording.leg) != "mix",
                            (col(Recording.sequence) == rec.sequence)
                            | (col(Recording.leg) == "message"),
                        )
                    )
                ).all()
            )
            queued = (
                await s.exec(
                    select(Job).where(
                        col(Job.case_id) == case_id,
                        col(Job.kind) == TRANSCRIBE,
                        col(Job.status) == JobStatus.QUEUED,
                    )
                )
            ).all()
            for job in queued:
                if job.payload.get("recording_id") in legs:
                    job.status = JobStatus.CANCELLED
                    job.last_error = f"superseded by the mix, recording {rec.id}"
                    job.finished_at = utcnow()
                    s.add(job)
            return True
        # A caller's message is recorded while the call's mix runs, whatever its sequence.
        same_part = True if rec.leg == "message" else col(Recording.sequence) == rec.sequence
        mix = (
            await s.exec(
                select(Recording.id).where(
                    col(Recording.call_id) == rec.call_id,
                    col(Recording.leg) == "mix",
                    same_part,
                )
            )
        ).first()
        return mix is None


def _import_id(sha256: str, name: str) -> str:
    """The call id of an imported file: its bytes and its name."""
    return f"import-{sha256}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"
