"""A lease-based job queue on the database, and the worker that runs it.

A job is a row. A worker *claims* it by setting a lease (owner, expiry) and keeps the
lease alive with heartbeats while it works; a worker that dies (``kill -9``) stops
heartbeating, its lease expires, and any worker reclaims the job. A handler marks its
job done in the *same transaction* as its result (``Lease.complete``), and that update
only succeeds while the lease is still its own, so a job's result is written once even
when a slow worker and a reclaiming one race.

On PostgreSQL, claiming uses ``SELECT … FOR UPDATE SKIP LOCKED`` so any number of
``hotline worker`` processes share the queue; on SQLite every transaction holds the
write lock, which serialises claims.

Failures retry with exponential backoff and jitter up to ``max_attempts``; then the job
is ``failed``, visible in ``hotline cases`` and ``/api/health``.

May import: ``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.errors import HotlineError
from hotline.store.db import Database
from hotline.store.tables import Job, JobStatus
from hotline.store.types import utcnow

log = logging.getLogger(__name__)


class LeaseLost(HotlineError):
    """The job's lease expired and another worker took it over."""


class PermanentJobError(HotlineError):
    """A failure that retrying cannot fix (e.g. audio that cannot be decoded)."""


class RetryAfter(HotlineError):
    """A failure to retry on the handler's own schedule rather than the queue's backoff."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass(frozen=True, slots=True)
class QueueConfig:
    lease_seconds: float = 60.0
    max_attempts: int = 5
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobQueue:
    def __init__(self, db: Database, config: QueueConfig) -> None:
        self.db = db
        self.config = config

    # --- producers ---------------------------------------------------------------

    def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: dict[str, Any],
        *,
        case_id: int | None = None,
        ordering_key: str | None = None,
        run_after: datetime | None = None,
        max_attempts: int | None = None,
    ) -> Job:
        """Add a job inside the caller's transaction (so it exists iff the change does)."""
        job = Job(
            kind=kind,
            payload=payload,
            case_id=case_id,
            ordering_key=ordering_key,
            run_after=run_after or utcnow(),
            max_attempts=max_attempts or self.config.max_attempts,
        )
        session.add(job)
        return job

    # --- workers -----------------------------------------------------------------

    async def claim(
        self, worker_id: str, kinds: Sequence[str], only_ids: Iterable[int] | None = None
    ) -> Job | None:
        """Take the oldest runnable job of ``kinds``, or ``None``."""
        now = utcnow()
        earlier = aliased(Job)
        blocked = exists().where(
            and_(
                col(earlier.ordering_key) == col(Job.ordering_key),
                col(earlier.id) < col(Job.id),
                col(earlier.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            )
        )
        runnable = or_(
            and_(col(Job.status) == JobStatus.QUEUED, col(Job.run_after) <= now),
            and_(col(Job.status) == JobStatus.RUNNING, col(Job.lease_expires_at) < now),
        )
        query = (
            select(Job)
            .where(col(Job.kind).in_(list(kinds)), runnable)
            .where(or_(col(Job.ordering_key).is_(None), ~blocked))
            .order_by(col(Job.id))
            .limit(1)
            .with_for_update(skip_locked=True, of=Job)
        )
        if only_ids is not None:
            query = query.where(col(Job.id).in_(list(only_ids)))
        while True:
            async with self.db.session() as s:
                job = (await s.exec(query)).first()
                if job is None:
                    return None
                if job.status == JobStatus.RUNNING and job.attempts >= job.max_attempts:
                    # Its last worker died holding it, max_attempts times over.
                    job.status = JobStatus.FAILED
                    job.last_error = (
                        f"{job.last_error}\nlease expired on attempt {job.attempts} "
                        f"(worker {job.lease_owner} stopped)"
                    ).strip()
                    job.finished_at = now
                    job.updated_at = now
                    job.lease_owner = None
                    job.lease_expires_at = None
                    continue
                if job.status == JobStatus.RUNNING:
                    log.warning(
                        "reclaiming job %s (%s): the lease of %s expired",
                        job.id,
                        job.kind,
                        job.lease_owner,
                        extra={"job_id": job.id, "case_id": job.case_id},
                    )
                job.status = JobStatus.RUNNING
                job.attempts += 1
                job.lease_owner = worker_id
                job.lease_expires_at = now + timedelta(seconds=self.config.lease_seconds)
                job.updated_at = now
                return job

    async def heartbeat(self, job: Job, worker_id: str) -> bool:
        expires = utcnow() + timedelta(seconds=self.config.lease_seconds)
        async with self.db.session() as s:
            result = await s.exec(
                update(Job)
                .where(
                    col(Job.id) == job.id,
                    col(Job.lease_owner) == worker_id,
                    col(Job.status) == JobStatus.RUNNING,
                )
                .values(lease_expires_at=expires)
            )
            return bool(result.rowcount)

    async def complete_in(self, session: AsyncSession, job: Job, worker_id: str) -> None:
        """Mark done within the handler's transaction; raises ``LeaseLost``."""
        now = utcnow()
        result = await session.exec(
            update(Job)
            .where(
                col(Job.id) == job.id,
                col(Job.lease_owner) == worker_id,
                col(Job.status) == JobStatus.RUNNING,
            )
            .values(
                status=JobStatus.DONE,
                finished_at=now,
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
                last_error="",
            )
        )
        if not result.rowcount:
            raise LeaseLost(f"job {job.id} is no longer held by {worker_id}")

    async def fail(
        self,
        job: Job,
        worker_id: str,
        error: str,
        *,
        permanent: bool = False,
        delay: float | None = None,
    ) -> str:
        """Record a failure: retry later (after ``delay``, or with exponential backoff
        and jitter), or give up. Returns the new status."""
        now = utcnow()
        give_up = permanent or job.attempts >= job.max_attempts
        if delay is None:
            delay = min(
                self.config.backoff_max_seconds,
                self.config.backoff_seconds * 2 ** max(0, job.attempts - 1),
            ) * random.uniform(0.8, 1.2)
        values: dict[str, Any] = {
            "status": JobStatus.FAILED if give_up else JobStatus.QUEUED,
            "last_error": error[:4000],
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if give_up:
            values["finished_at"] = now
        else:
            values["run_after"] = now + timedelta(seconds=delay)
        async with self.db.session() as s:
            await s.exec(
                update(Job)
                .where(col(Job.id) == job.id, col(Job.lease_owner) == worker_id)
                .values(**values)
            )
        return str(values["status"])

    async def release(self, job: Job, worker_id: str) -> None:
        """Hand a job back unfinished (shutdown): it runs again at once, same attempt."""
        async with self.db.session() as s:
            await s.exec(
                update(Job)
                .where(
                    col(Job.id) == job.id,
                    col(Job.lease_owner) == worker_id,
                    col(Job.status) == JobStatus.RUNNING,
                )
                .values(
                    status=JobStatus.QUEUED,
                    attempts=col(Job.attempts) - 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=utcnow(),
                )
            )

    async def retry_failed(self, job_ids: Iterable[int] | None = None) -> int:
        """Put failed jobs back in the queue with fresh attempts."""
        query = update(Job).where(col(Job.status) == JobStatus.FAILED)
        if job_ids is not None:
            query = query.where(col(Job.id).in_(list(job_ids)))
        async with self.db.session() as s:
            result = await s.exec(
                query.values(
                    status=JobStatus.QUEUED, attempts=0, run_after=utcnow(), finished_at=None
                )
            )
            return int(result.rowcount)

    async def counts(self) -> dict[str, int]:
        async with self.db.session() as s:
            rows = (await s.exec(select(Job.status, func.count()).group_by(col(Job.status)))).all()
        return {str(status): int(n) for status, n in rows}


@dataclass(slots=True)
class Lease:
    """What a handler gets with its job: the queue and the worker holding it."""

    queue: JobQueue
    job: Job
    worker_id: str

    async def complete_in(self, session: AsyncSession) -> None:
        await self.queue.complete_in(session, self.job, self.worker_id)


Handler = Callable[[Job, Lease], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Lane:
    """Kinds of job run side by side up to ``concurrency`` (transcription: 1 per process,
    since one model already uses every core; deliveries: many)."""

    kinds: tuple[str, ...]
    concurrency: int = 1


class Worker:
    """Claims and runs jobs until stopped. ``stop()`` waits up to ``grace`` seconds for
    jobs in flight, then hands the unfinished ones back for another worker."""

    def __init__(
        self,
        queue: JobQueue,
        handlers: dict[str, Handler],
        lanes: Sequence[Lane],
        *,
        poll_seconds: float = 0.5,
        grace_seconds: float = 10.0,
        worker_id: str | None = None,
        permanent_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.queue = queue
        self.handlers = handlers
        self.lanes = lanes
        self.poll_seconds = poll_seconds
        self.grace_seconds = grace_seconds
        self.worker_id = worker_id or new_worker_id()
        self.permanent_errors: tuple[type[Exception], ...] = (
            PermanentJobError,
            *permanent_errors,
        )
        self.only_ids: set[int] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self._tasks:
            return
        for lane in self.lanes:
            for n in range(lane.concurrency):
                name = f"worker:{'+'.join(lane.kinds)}:{n}"
                self._tasks.append(asyncio.create_task(self._loop(lane), name=name))

    async def stop(self) -> None:
        if not self._tasks:
            return
        self._stopping.set()
        self._wake.set()
        _, pending = await asyncio.wait(self._tasks, timeout=self.grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, lane: Lane) -> None:
        while not self._stopping.is_set():
            try:
                job = await self.queue.claim(self.worker_id, lane.kinds, self.only_ids)
            except Exception:
                log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        handler = self.handlers[job.kind]
        lease = Lease(self.queue, job, self.worker_id)
        extra = {"job_id": job.id, "case_id": job.case_id}
        beat = asyncio.create_task(self._heartbeat(job), name=f"heartbeat:{job.id}")
        try:
            await handler(job, lease)
        except asyncio.CancelledError:
            # Shutdown past the grace period: give the job back, don't lose it.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.queue.release(job, self.worker_id))
            log.warning("job %s handed back unfinished at shutdown", job.id, extra=extra)
            raise
        except LeaseLost:
            log.warning("job %s: lease lost; another worker owns it now", job.id, extra=extra)
        except RetryAfter as exc:
            status = await self.queue.fail(job, self.worker_id, str(exc), delay=exc.delay)
            log.info(
                "job %s (%s) attempt %s/%s: %s -> %s, next in %.0f s",
                job.id,
                job.kind,
                job.attempts,
                job.max_attempts,
                exc,
                status,
                exc.delay,
                extra=extra,
            )
        except Exception as exc:
            permanent = isinstance(exc, self.permanent_errors)
            status = await self.queue.fail(
                job, self.worker_id, f"{type(exc).__name__}: {exc}", permanent=permanent
            )
            log.error(
                "job %s (%s) failed on attempt %s/%s: %s -> %s",
                job.id,
                job.kind,
                job.attempts,
                job.max_attempts,
                exc,
                status,
                extra=extra,
                exc_info=not isinstance(exc, HotlineError),
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self, job: Job) -> None:
        interval = self.queue.config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.queue.heartbeat(job, self.worker_id):
                    return
            except Exception:
                log.exception("heartbeat for job %s failed", job.id)
