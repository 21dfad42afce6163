"""Composition: settings -> the components of one process, and their lifecycle.

``Hotline`` owns the database, the evidence store, the job queue, intake and the
transcription service. ``serve`` adds the web app, the in-process worker and the call
sources; ``run_worker`` runs a worker alone. Both stop gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

from hotline.calls import CallFact, Incident, IncidentKind, RecordingFinished
from hotline.cases import get_case
from hotline.checkpointing import TIMESTAMP, Checkpointer, CheckpointTicker, Timestamper
from hotline.config import Settings
from hotline.custody.issue import CopyMaker
from hotline.errors import RecordingRejected
from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore
from hotline.evidence.keys import InstallationKey
from hotline.intake import TRANSCRIBE, Intake
from hotline.jobs import JobQueue, QueueConfig
from hotline.live import LiveFeed
from hotline.sources import Source, build_sources
from hotline.store.db import Database
from hotline.store.tables import Case
from hotline.transcription import TranscriptionService
from hotline.webhooks.dispatch import DeliveryService
from hotline.webhooks.endpoints import sync_from_settings
from hotline.webhooks.outbox import DELIVER, Outbox
from hotline.worker import Lane, Worker

log = logging.getLogger(__name__)


class Hotline:
    """The shared core of every hotline process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_url)
        self.store = EvidenceStore.from_settings(settings)
        self.queue = JobQueue(
            self.db,
            QueueConfig(
                lease_seconds=settings.job_lease_seconds,
                max_attempts=settings.job_max_attempts,
                backoff_seconds=settings.job_backoff_seconds,
            ),
        )
        self.outbox = Outbox(settings, self.queue)
        self.intake = Intake(settings, self.db, self.store, self.queue, self.outbox)
        self.transcription = TranscriptionService(settings, self.db, self.store, self.outbox)
        self.delivery = DeliveryService(settings, self.db, self.queue)
        self.live = LiveFeed()
        self.sources: list[Source] = []
        self._key: InstallationKey | None = None
        self.checkpoints = Checkpointer(
            settings, self.db, lambda: self.key, self.outbox, self.queue
        )
        self.timestamper = Timestamper(settings, self.db)

    def checkpoint_ticker(self) -> CheckpointTicker:
        """Signs the audit chain at ``HOTLINE_CHECKPOINT_INTERVAL_SECONDS``."""
        return CheckpointTicker(self.checkpoints, self.settings.checkpoint_interval_seconds)

    @property
    def key(self) -> InstallationKey:
        """The installation's signing key (loaded, or made, by ``open``)."""
        if self._key is None:
            self._key = InstallationKey.load_or_create(self.settings.signing_key_path)
        return self._key

    @property
    def copies(self) -> CopyMaker:
        """Makes and keeps the copies of evidence that requests were approved for."""
        return CopyMaker(self.settings, self.db, self.store, self.key)

    async def on_fact(self, fact: CallFact) -> None:
        """Where the call sources send their facts: live view first, then the store.

        A storage failure propagates, so the source delivers the fact again; a file
        that is no usable recording is itself a fact worth keeping: an incident.
        """
        self.live.apply(fact)
        try:
            result = await self.intake.handle(fact)
        except RecordingRejected as exc:
            assert isinstance(fact, RecordingFinished)
            await self.intake.handle(
                Incident(
                    kind=IncidentKind.INCOMPLETE,
                    at=fact.at,
                    call_id=fact.call_id,
                    detail=f"the recording cannot be sealed: {exc}",
                )
            )
            return
        if result is not None:
            self.live.publish(
                "case",
                {"id": result.case.id, "number": result.case.number, "status": result.case.status},
            )

    async def open(self, *, migrate: bool | None = None) -> None:
        """Check the schema (migrating the embedded SQLite by itself) and the store."""
        await self.store.open()
        _ = self.key
        allowed = self.settings.embedded_database if migrate is None else migrate
        await self.db.ensure_schema(migrate=allowed)
        await sync_from_settings(self.db, self.settings)

    async def close(self) -> None:
        await self.delivery.close()
        await self.timestamper.close()
        await self.db.close()

    async def forward(self, ref: str | int, actor: str) -> tuple[Case, bool]:
        """Send a case to the case system (``case.created``). Returns the case and
        whether this call forwarded it (``False``: it had been forwarded already)."""
        async with self.db.session() as s:
            case = await get_case(s, ref)
            if case.forwarded_at is not None:
                return case, False
            await self.outbox.forward(s, case)
            await append_audit(
                s,
                actor=actor,
                action="case.forwarded",
                subject=f"case:{case.id}",
                case_id=case.id,
                details={"number": case.number},
            )
            return case, True

    def worker(self, only_ids: Iterable[int] | None = None) -> Worker:
        worker = Worker(
            self.queue,
            {TRANSCRIBE: self.transcription, DELIVER: self.delivery, TIMESTAMP: self.timestamper},
            [
                Lane((TRANSCRIBE,), concurrency=1),
                # Both wait on another system's answer: one lane of network calls.
                Lane((DELIVER, TIMESTAMP), concurrency=self.settings.webhook_concurrency),
            ],
            poll_seconds=self.settings.job_poll_seconds,
            grace_seconds=self.settings.shutdown_grace_seconds,
        )
        if only_ids is not None:
            worker.only_ids = set(only_ids)
        return worker


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve(settings: Settings, ready: Callable[[str], Awaitable[None]] | None = None) -> None:
    """``hotline serve``: web + worker (+ call sources) until SIGINT/SIGTERM."""
    from aiohttp import web

    from hotline.web.app import make_app

    core = Hotline(settings)
    await core.open()
    worker = core.worker()
    ticker = core.checkpoint_ticker()
    core.sources = build_sources(settings, core.on_fact)
    runner = web.AppRunner(make_app(core), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        await worker.start()
        await ticker.start()
        for source in core.sources:
            await source.start()
            log.info("call source %s started", source.name)
        url = f"http://{settings.http}"
        log.info("hotline serving on %s (database %s)", url, _redact(settings.db_url))
        if ready is not None:
            await ready(url)
        await _until_signalled()
        log.info("stopping (up to %.0f s for work in flight)", settings.shutdown_grace_seconds)
    finally:
        for source in reversed(core.sources):
            await source.stop()
        await ticker.stop()
        await worker.stop()
        await runner.cleanup()
        await core.close()
    log.info("stopped")


async def run_worker(settings: Settings) -> None:
    """``hotline worker``: transcription (and delivery) jobs until SIGINT/SIGTERM."""
    core = Hotline(settings)
    await core.open()
    worker = core.worker()
    ticker = core.checkpoint_ticker()
    try:
        await worker.start()
        await ticker.start()
        log.info("worker %s started", worker.worker_id)
        await _until_signalled()
    finally:
        await ticker.stop()
        await worker.stop()
        await core.close()


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
