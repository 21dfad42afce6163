"""Composition: settings -> the components of one process, and their lifecycle.

``Hotline`` owns the database, the evidence store, the job queue, intake and the
transcription service. ``serve`` adds the web app, the in-process worker and the call
sources; ``run_worker`` runs a worker alone. Both stop gracefully on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from sqlmodel import col, select

from hotline.calls import CallFact, Incident, IncidentKind, RecordingFinished
from hotline.cases import get_case
from hotline.checkpointing import TIMESTAMP, Checkpointer, CheckpointTicker, Timestamper
from hotline.cluster.leader import LeadingSource
from hotline.cluster.lease import Lease
from hotline.cluster.relay import LiveRelay
from hotline.config import Settings
from hotline.custody.issue import CopyMaker
from hotline.errors import (
    HotlineError,
    NotMigrated,
    RecordingRejected,
    SIPError,
    StartupError,
    StorageError,
)
from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore
from hotline.evidence.holds import LEGAL_HOLD
from hotline.evidence.keys import InstallationKey
from hotline.evidence.pending import PendingSeals
from hotline.holds import LegalHolds
from hotline.intake import TRANSCRIBE, Intake
from hotline.jobs import JobQueue, QueueConfig
from hotline.live import LiveFeed
from hotline.sources import Source, asterisk_source, build_sources
from hotline.store.db import Database
from hotline.store.tables import Case
from hotline.store.types import utcnow
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
        try:
            self.db = Database(settings.db_url)
            self.store = EvidenceStore.from_settings(settings, PendingSeals(self.db))
        except OSError as exc:  # the data directory cannot be made or written
            raise StartupError(settings.describe_os_error(exc)) from exc
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
        self.node_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        """This process among the nodes sharing the database."""
        self.sources: list[Source] = []
        self.relay: LiveRelay | None = None
        self._key: InstallationKey | None = None
        self.checkpoints = Checkpointer(
            settings, self.db, lambda: self.key, self.outbox, self.queue
        )
        self.timestamper = Timestamper(settings, self.db)
        self.holds = LegalHolds(self.db, self.store)

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
        settings = self.settings
        try:
            await self.store.open()
            _ = self.key
        except (OSError, HotlineError) as exc:
            # The evidence store and the key wrap the system's refusal in their own words;
            # at start, what matters is which path and which setting to change.
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if not isinstance(cause, OSError):
                raise
            raise StartupError(settings.describe_os_error(cause)) from exc
        allowed = settings.embedded_database if migrate is None else migrate
        try:
            await self.db.ensure_schema(migrate=allowed)
        except NotMigrated:
            raise
        except StorageError as exc:  # the database does not answer, or cannot be opened
            where = "HOTLINE_DATA_DIR" if settings.embedded_database else "HOTLINE_DATABASE_URL"
            raise StartupError(f"{where} ({_redact(self.db.url)}): {exc}") from exc
        await sync_from_settings(self.db, self.settings)
        for orphan in await self.store.reconcile():
            await self.intake.record_incident(
                Incident(kind=IncidentKind.ORPHANED, at=utcnow(), detail=orphan.describe())
            )

    def call_sources(self) -> list[Source]:
        """The call sources of ``hotline serve``. The Asterisk source runs on one node at
        a time: the holder of the ``asterisk`` lease."""
        settings = self.settings
        sources: list[Source] = []
        for source in build_sources(settings, self.on_fact):
            if source.name != "asterisk":
                sources.append(source)
                continue
            lease = Lease(self.db, "asterisk", self.node_id, settings.leader_lease_seconds)
            sources.append(
                LeadingSource(
                    "asterisk",
                    lambda: asterisk_source(settings, self.on_fact),
                    lease,
                    prepare=self.share_pbx_ledger,
                )
            )
        return sources

    async def share_pbx_ledger(self) -> None:
        """Before following the PBX, note in this node's ledger the PBX recordings that
        any node sealed in the past week, so the orphan scan of a new leader does not
        offer the previous leader's files again (MixMonitor writes one flat directory:
        a file's name is its place in it)."""
        from hotline.ami.pickup import FileLedger
        from hotline.store.tables import Call, Recording

        since = utcnow() - timedelta(days=7)
        async with self.db.session() as s:
            rows = (
                await s.exec(
                    select(Recording.original_name, Recording.details)
                    .join(Call, col(Call.id) == col(Recording.call_id))
                    .where(col(Call.source) == "asterisk", col(Recording.sealed_at) >= since)
                )
            ).all()
        ledger = FileLedger(self.settings.data_dir / "asterisk-recordings.seen")

        def note() -> None:
            for name, details in rows:
                size = str(details.get("file_bytes", ""))
                if name and size.isdecimal():
                    ledger.add(name, int(size))

        await asyncio.to_thread(note)

    def live_relay(self) -> LiveRelay | None:
        """Live calls and events shared with the other nodes (PostgreSQL only)."""
        if self.db.is_sqlite:
            return None
        lease = self.settings.leader_lease_seconds
        return LiveRelay(self.settings.db_url, self.live, self.node_id, silent_after=lease * 2)

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
            {
                TRANSCRIBE: self.transcription,
                DELIVER: self.delivery,
                TIMESTAMP: self.timestamper,
                LEGAL_HOLD: self.holds,
            },
            [
                Lane((TRANSCRIBE,), concurrency=1),
                # Each waits on another system's answer: one lane of network calls.
                Lane(
                    (DELIVER, TIMESTAMP, LEGAL_HOLD),
                    concurrency=self.settings.webhook_concurrency,
                ),
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

    # The web port first: a port that is taken stops the start before anything is made
    # (a first start's administrator password would be printed for nothing).
    try:
        sock = socket.create_server((settings.http_host, settings.http_port))
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise StartupError(
            f"HOTLINE_HTTP: cannot listen on {settings.http} ({reason}); choose another address"
        ) from exc
    try:
        core = Hotline(settings)
        await core.open()
    except BaseException:
        sock.close()
        raise
    worker = core.worker()
    ticker = core.checkpoint_ticker()
    core.sources = core.call_sources()
    core.relay = core.live_relay()
    runner = web.AppRunner(make_app(core), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.SockSite(runner, sock)
        await site.start()
        if core.relay is not None:
            await core.relay.start()
        await worker.start()
        await ticker.start()
        for source in core.sources:
            try:
                await source.start()
            except SIPError as exc:  # its port is taken, or its address not ours
                raise StartupError(str(exc)) from exc
            except OSError as exc:
                raise StartupError(settings.describe_os_error(exc)) from exc
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
        if core.relay is not None:
            await core.relay.stop()
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
