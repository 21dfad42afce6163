"""Making signed checkpoints of the audit chain: on demand (``hotline audit
checkpoint``, before a disc archive) and at ``HOTLINE_CHECKPOINT_INTERVAL_SECONDS``
when the chain moved.

A checkpoint is made in one transaction with the chain held (no event can slip in
between the head it signs and the checkpoint event that follows it): the signature,
the ``audit.checkpoint`` event, the webhook to the case system, and, when a timestamp
authority is set, the job that fetches its token. Several processes may run the
interval; the chain lock and the age of the newest checkpoint keep them from signing
twice.

May import: ``hotline.evidence``, ``hotline.webhooks``, ``hotline.jobs``,
``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.config import Settings
from hotline.evidence.audit import append_audit, chain_head
from hotline.evidence.checkpoints import ACTION, Checkpoint, sign
from hotline.evidence.keys import InstallationKey
from hotline.evidence.timestamps import (
    REPLY_TYPE,
    REQUEST_TYPE,
    TimestampError,
    Token,
    Trust,
    check,
    request,
)
from hotline.jobs import ClaimedJob, JobQueue, PermanentJobError
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, AuditTimestamp
from hotline.store.types import utcnow
from hotline.webhooks.outbox import Outbox
from hotline.worker import Lease

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:checkpoint"
TIMESTAMP = "timestamp"
"""The job that fetches a checkpoint's token from the timestamp authority."""
TIMESTAMP_ATTEMPTS = 30
"""With the queue's backoff (doubling, at most an hour apart): about a day of outage."""


@dataclass(frozen=True, slots=True)
class Made:
    """A checkpoint and the event that keeps it; ``new`` is false when the chain had
    not moved since that one."""

    checkpoint: Checkpoint
    event_seq: int
    new: bool


async def latest_checkpoint(session: AsyncSession) -> Made | None:
    row = (
        await session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action) == ACTION)
            .order_by(col(AuditEvent.seq).desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return Made(Checkpoint.from_details(row.details), row.seq, new=False)


class Checkpointer:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        key: Callable[[], InstallationKey],
        outbox: Outbox,
        queue: JobQueue,
    ) -> None:
        self.settings = settings
        self.db = db
        self._key = key
        self.outbox = outbox
        self.queue = queue

    async def make(self, actor: str, *, min_age: float | None = None) -> Made | None:
        """Sign the head of the chain now. ``None`` when the chain is empty, or when
        ``min_age`` is given and the newest checkpoint is younger than that; the newest
        checkpoint (``new=False``) when the chain has not moved since it."""
        async with self.db.session() as s:
            head = await chain_head(s)
            if head is None:
                return None
            if head.action == ACTION:
                return Made(Checkpoint.from_details(head.details), head.seq, new=False)
            if min_age is not None:
                last = await latest_checkpoint(s)
                if last is not None and (utcnow() - last.checkpoint.at).total_seconds() < min_age:
                    return None
            checkpoint = sign(self._key(), head.seq, head.hash, utcnow())
            event = await append_audit(
                s,
                actor=actor,
                action=ACTION,
                subject=f"audit:{head.seq}",
                details=checkpoint.details(),
                at=checkpoint.at,
            )
            await self.outbox.checkpoint(
                s,
                {
                    **checkpoint.details(),
                    "event_seq": event.seq,
                    "statement": checkpoint.statement().decode(),
                },
            )
            if self.settings.tsa_url:
                self.queue.enqueue(
                    s, TIMESTAMP, {"event_seq": event.seq}, max_attempts=TIMESTAMP_ATTEMPTS
                )
        log.info(
            "audit checkpoint at event %s signs event %s (%s…)",
            event.seq,
            checkpoint.seq,
            checkpoint.hash[:12],
        )
        return Made(checkpoint, event.seq, new=True)


class Timestamper:
    """The ``timestamp`` job: ask the TSA (``HOTLINE_TSA_URL``) for a checkpoint's token,
    check it against ``HOTLINE_TSA_CERT`` and keep it. A TSA that is down or answers
    badly fails the attempt, and the queue tries again later: the checkpoint itself was
    made and sent long before."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._trust: Trust | None = None
        self._http: aiohttp.ClientSession | None = None

    def trust(self) -> Trust:
        if self._trust is None:
            assert self.settings.tsa_cert is not None  # Settings require it with a URL
            self._trust = Trust.load(self.settings.tsa_cert)
        return self._trust

    async def fetch(self, statement: bytes) -> Token:
        """A checked token for ``statement``, or ``TimestampError``."""
        url = self.settings.tsa_url
        if not url:
            raise TimestampError("no timestamp authority is set (HOTLINE_TSA_URL)")
        trust = self.trust()
        query = request(statement)
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.settings.tsa_timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._http.post(
                url,
                data=query.body,
                headers={"Content-Type": REQUEST_TYPE, "Accept": REPLY_TYPE},
            ) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise TimestampError(f"the timestamp authority answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise TimestampError(
                f"the timestamp authority {url} is unreachable: {reason}"
            ) from None
        return check(body, statement, trust, query.nonce)

    async def __call__(self, job: ClaimedJob, lease: Lease) -> None:
        seq = int(job.payload["event_seq"])
        async with self.db.session() as s:
            event = await s.get(AuditEvent, seq)
            done = (
                await s.exec(
                    select(AuditTimestamp).where(col(AuditTimestamp.checkpoint_seq) == seq)
                )
            ).first()
        if event is None or event.action != ACTION:
            raise PermanentJobError(f"event {seq} is not a checkpoint")
        if done is None:
            token = await self.fetch(Checkpoint.from_details(event.details).statement())
        async with self.db.session() as s:
            if done is None:
                s.add(
                    AuditTimestamp(
                        checkpoint_seq=seq,
                        response=token.response,
                        gen_time=token.gen_time,
                        serial=str(token.serial),
                        tsa=self.trust().name,
                    )
                )
            await lease.complete_in(s)
        if done is None:
            log.info(
                "timestamp of the checkpoint at event %s: %s by %s",
                seq,
                token.gen_time.isoformat(),
                self.trust().name,
            )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


class CheckpointTicker:
    """Runs ``Checkpointer.make`` every ``interval`` seconds (looking every minute at
    most, so a restart does not postpone the next checkpoint by a whole interval)."""

    def __init__(self, checkpointer: Checkpointer, interval: float) -> None:
        self.checkpointer = checkpointer
        self.interval = interval
        self.tick = min(interval, 60.0)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="audit-checkpoints")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.tick)
            if self._stop.is_set():
                return
            try:
                # A little under the interval, so ticks that drift do not skip one.
                await self.checkpointer.make(SYSTEM_ACTOR, min_age=self.interval * 0.9)
            except Exception:
                # The database may be down for a while; the next tick tries again.
                log.exception("could not make an audit checkpoint; retrying at the next tick")
