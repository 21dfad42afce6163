"""The ``transcribe`` job: a sealed recording in, transcript version 1 out.

The model loads once per worker process, on first use, off the event loop; one
transcription runs at a time per process (the model already uses every core).

May import: ``transcriber``, ``hotline.evidence``, ``hotline.jobs``, ``hotline.store``,
``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.config import Settings
from hotline.errors import TranscriptionError
from hotline.evidence.audit import append_audit
from hotline.evidence.chain import transcript_digest
from hotline.evidence.files import EvidenceStore
from hotline.jobs import ClaimedJob, PermanentJobError
from hotline.store.db import Database
from hotline.store.tables import Case, Recording, Transcript
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox
from hotline.worker import Lease

if TYPE_CHECKING:
    import transcriber

log = logging.getLogger(__name__)

T = TypeVar("T")


def in_daemon_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    """Run ``fn`` on a daemon thread. Unlike the default executor, whose threads the
    interpreter joins at exit, an unfinished transcription cannot hold up a shutdown:
    the job is handed back and the process may leave the thread behind."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def run() -> None:
        outcome: Callable[[], None]
        try:
            value = fn(*args, **kwargs)
            outcome = lambda: future.set_result(value)  # noqa: E731
        except BaseException as exc:  # delivered to the awaiting task
            error = exc
            outcome = lambda: future.set_exception(error)  # noqa: E731
        with contextlib.suppress(RuntimeError):  # the loop is gone: shutting down
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="transcribe", daemon=True).start()
    return future


async def _speaker_legs(s: AsyncSession, mix: Recording) -> dict[str, Recording]:
    """The ``caller`` and ``operator`` legs recorded beside ``mix`` (MixMonitor's
    ``r()``/``t()``), when both are sealed; else nothing."""
    rows = (
        await s.exec(
            select(Recording).where(
                col(Recording.call_id) == mix.call_id,
                col(Recording.sequence) == mix.sequence,
                col(Recording.leg).in_(["caller", "operator"]),
            )
        )
    ).all()
    legs = {r.leg: r for r in rows}
    return legs if set(legs) == {"caller", "operator"} else {}


class UnusableAudio(PermanentJobError):
    """The sealed recording cannot be decoded: retrying will not change that."""


class BadPayload(PermanentJobError):
    """A ``transcribe`` job asks for something no run can do."""


MAX_JOB_HOTWORDS = 32
"""Hot words one job may bring (the model is shown about 200 tokens of them at most)."""


def transcribe_payload(recording_id: int, *, hotwords: Sequence[str] = ()) -> dict[str, Any]:
    """The payload of a ``transcribe`` job for one recording.

    ``hotwords``: names this recording is likely to hold that the model cannot know,
    preferred before ``HOTLINE_HOTWORDS`` and the built-in lexicon
    (``transcriber.lexicon``). The case's own entity name and address
    (``case_hotwords``) are added by the job itself, as they stand when it runs."""
    payload: dict[str, Any] = {"recording_id": int(recording_id)}
    words = _clean_hotwords(hotwords)
    if words:
        payload["hotwords"] = list(words)
    return payload


def case_hotwords(case: Case) -> tuple[str, ...]:
    """The names on a case that its recording probably says: the reported entity and
    its address (not the reporter's identity, which stays out of the model's prompt)."""
    return _clean_hotwords([case.entity_name, case.entity_address])


def _clean_hotwords(words: Sequence[Any]) -> tuple[str, ...]:
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise BadPayload(f"hot words must be a list of texts, not {words!r}")
    cleaned = tuple(dict.fromkeys(" ".join(w.split())[:64] for w in words if w.strip()))
    if len(cleaned) > MAX_JOB_HOTWORDS:
        raise BadPayload(f"{len(cleaned)} hot words; a job may bring {MAX_JOB_HOTWORDS}")
    return cleaned


RERUN_MODELS = ("bundled-base", "bundled-tiny.en")
"""Models a handler may re-run with besides ``HOTLINE_WHISPER_MODEL`` (the bundled ones,
``transcriber.models.BUNDLED``): a path or name typed into a web form is never loaded."""


def rerun_models(settings: Settings) -> tuple[str, ...]:
    """The models a re-run may ask for, the configured one first."""
    configured = (settings.whisper_model,) if settings.whisper_model else ()
    return tuple(dict.fromkeys(configured + RERUN_MODELS))


def rerun_payload(
    recording_id: int,
    *,
    batch: str,
    version: int,
    language: str | None,
    model: str | None,
    requested_by: str,
    hotwords: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``transcribe`` job of a handler's re-run: a new machine version of one
    recording (``version``, shared by the recordings re-run together as ``batch``),
    with another language or model, and the case's names as extra hot words."""
    words = [w for w in dict.fromkeys(" ".join(w.split())[:64] for w in hotwords) if w]
    return {
        "recording_id": int(recording_id),
        "hotwords": words[:32],
        "rerun": {
            "batch": batch,
            "version": int(version),
            "language": language,
            "model": model,
            "requested_by": requested_by,
        },
    }


@dataclass(frozen=True, slots=True)
class Rerun:
    """What a re-run job asks for (``rerun_payload``)."""

    job_id: int
    batch: str
    version: int
    language: str | None
    model: str | None
    requested_by: str
    hotwords: tuple[str, ...]

    @classmethod
    def of(cls, job: ClaimedJob) -> Rerun | None:
        asked = job.payload.get("rerun")
        if asked is None:
            return None
        words = job.payload.get("hotwords") or []
        if not isinstance(asked, dict) or not all(isinstance(w, str) for w in words):
            raise PermanentJobError(f"job {job.id}: a re-run payload is malformed: {asked!r}")
        return cls(
            job_id=job.id,
            batch=str(asked.get("batch") or job.id),
            version=int(asked.get("version") or 2),
            language=asked.get("language") or None,
            model=asked.get("model") or None,
            requested_by=str(asked.get("requested_by") or ""),
            hotwords=tuple(words),
        )

    def record(self) -> dict[str, Any]:
        """How the transcript row and its audit event say what was asked."""
        return {
            "job": self.job_id,
            "batch": self.batch,
            "language": self.language,
            "model": self.model,
            "requested_by": self.requested_by,
            "hotwords": list(self.hotwords),
        }

    def wrote(self, row: Transcript) -> bool:
        return bool((row.report or {}).get("rerun", {}).get("job") == self.job_id)

    async def place(
        self, s: AsyncSession, case_id: int, recording_id: int
    ) -> tuple[int, int | None]:
        """The version this run writes and the row it supersedes: the version asked
        for, or past any version written since (a correction) by anything but this
        re-run's own jobs."""
        rows = (await s.exec(select(Transcript).where(col(Transcript.case_id) == case_id))).all()
        others = [
            t.version for t in rows if (t.report or {}).get("rerun", {}).get("batch") != self.batch
        ]
        version = max([self.version, *(v + 1 for v in others)])
        own = [t for t in rows if t.recording_id == recording_id]
        newest = max(own, key=lambda t: t.version) if own else None
        return version, newest.id if newest is not None else None


class TranscriptionService:
    """Owns the process's one model and runs ``transcribe`` jobs with it."""

    def __init__(
        self, settings: Settings, db: Database, store: EvidenceStore, outbox: Outbox
    ) -> None:
        self.settings = settings
        self.db = db
        self.store = store
        self.outbox = outbox
        self._model: transcriber.Transcriber | None = None
        self._other: tuple[str, transcriber.Transcriber] | None = None
        """A model a handler's re-run asked for, kept until another one is asked for."""
        self._loading = asyncio.Lock()
        self.seconds_transcribed = 0.0

    async def model(self, name: str | None = None) -> transcriber.Transcriber:
        """The configured model, or (a re-run) the one called ``name``."""
        import transcriber  # numpy and the speech stack load only where they are used

        default = name is None or name == self.settings.whisper_model
        async with self._loading:
            if default and self._model is not None:
                return self._model
            if not default and self._other is not None and self._other[0] == name:
                return self._other[1]
            started = time.perf_counter()
            try:
                options = transcriber.Options(hotwords=self.settings.hotword_list)
                loaded = await asyncio.to_thread(
                    transcriber.load,
                    self.settings.whisper_model if default else name,
                    compute_type=self.settings.whisper_compute_type,
                    cpu_threads=self.settings.whisper_threads,
                    options=options,
                )
            except transcriber.TranscriptionError as exc:
                raise TranscriptionError(str(exc)) from exc
            log.info("loaded %s in %.1f s", loaded.model_id, time.perf_counter() - started)
            if default:
                self._model = loaded
            else:
                self._other = (str(name), loaded)
            return loaded

    def _file(self, rec: Recording) -> contextlib.AbstractAsyncContextManager[Path]:
        """The model reads files: the sealed one, or a checked copy of a remote one."""
        return self.store.local_file(self.store.ref(rec), rec.sha256)

    async def __call__(self, job: ClaimedJob, lease: Lease) -> None:
        recording_id = int(job.payload["recording_id"])
        asked = _clean_hotwords(job.payload.get("hotwords") or [])
        rerun = Rerun.of(job)
        async with self.db.session() as s:
            rec = await s.get(Recording, recording_id)
            if rec is None:
                raise UnusableAudio(f"recording {recording_id} does not exist")
            # The names on the case (the operator's form, a handler's edits) are what
            # the call is about: preferred, with the job's own, before the lexicon.
            owner = await s.get(Case, job.case_id) if job.case_id is not None else None
            names = case_hotwords(owner) if owner is not None else ()
            extra = asked + tuple(w for w in names if w not in asked)
            machine = (
                await s.exec(
                    select(Transcript).where(
                        col(Transcript.recording_id) == recording_id,
                        col(Transcript.source) == "machine",
                    )
                )
            ).all()
            done = [t for t in machine if rerun is None or rerun.wrote(t)]
            legs = await _speaker_legs(s, rec) if rec.leg == "mix" else {}
        if done:
            # A worker died after writing the transcript but before its lease ended.
            async with self.db.session() as s:
                await lease.complete_in(s)
            return
        import transcriber

        model = await self.model(rerun.model if rerun else None)
        # The caller's and the operator's own legs, when the PBX wrote them, say who
        # spoke; otherwise the mix (a two-channel file is split by the transcriber).
        wanted = (rerun.language if rerun else None) or self.settings.language
        language = None if wanted == "auto" else wanted
        started = time.perf_counter()
        async with contextlib.AsyncExitStack() as files:
            audio: Path | dict[str, Path]
            if legs:
                audio = {
                    speaker: await files.enter_async_context(self._file(leg))
                    for speaker, leg in legs.items()
                }
            else:
                audio = await files.enter_async_context(self._file(rec))
            try:
                result = await in_daemon_thread(
                    model.transcribe, audio, language=language, extra_hotwords=extra
                )
            except transcriber.AudioError as exc:
                raise UnusableAudio(str(exc)) from exc
            # Anything else (the model ran out of memory, CTranslate2 failed, a model
            # file is damaged) is not the recording's fault: it propagates as it is, the
            # queue retries it with its backoff and the worker logs its traceback.
        self.seconds_transcribed += result.duration
        log.info(
            "transcribed recording %s (%.1f s of audio) in %.1f s",
            recording_id,
            result.duration,
            time.perf_counter() - started,
            extra={"case_id": job.case_id},
        )
        async with self.db.session() as s:
            await lease.complete_in(s)  # first: fails if another worker took the job
            case = await s.get(Case, job.case_id)
            assert case is not None
            report = result.drop_report()
            report["dropped"] = [d.to_dict() for d in result.dropped]
            version, supersedes = 1, None
            if rerun is not None:
                version, supersedes = await rerun.place(s, case.id or 0, recording_id)
                report["rerun"] = rerun.record()
            transcript = Transcript(
                recording_id=recording_id,
                case_id=case.id or 0,
                version=version,
                source="machine",
                author=model.model_id,
                language=result.language,
                model=result.model,
                text=result.text,
                segments=[seg.to_dict() for seg in result.segments],
                supersedes_id=supersedes,
                report=report,
            )
            s.add(transcript)
            case.updated_at = utcnow()
            s.add(case)
            await s.flush()
            await append_audit(
                s,
                actor="system:worker",
                action="transcript.created",
                subject=f"transcript:{transcript.id}",
                case_id=case.id,
                details={
                    "recording_id": recording_id,
                    "version": version,
                    "language": result.language,
                    "model": result.model,
                    "segments": len(result.segments),
                    "dropped": len(result.dropped),
                    "sha256": transcript_digest(transcript.text, transcript.segments),
                    **({"rerun": rerun.record()} if rerun else {}),
                },
            )
            await self.outbox.case_transcribed(s, case)
