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
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, case, exists, func, literal, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.errors import HotlineError
from hotline.store.db import Database
from hotline.store.tables import Job, JobStatus
from hotline.store.types import utcnow

log = logging.getLogger(__name__)

# Statements on the hot path, built once (a job is claimed, heartbeats and completes
# thousands of times a minute when webhooks drain a backlog).
_JOBS = SQLModel.metadata.tables["jobs"]
_HELD = and_(
    _JOBS.c.id == bindparam("job_id"),
    _JOBS.c.lease_owner == bindparam("owner"),
    _JOBS.c.status == JobStatus.RUNNING.value,
)
_HEARTBEAT = update(_JOBS).where(_HELD).values(lease_expires_at=bindparam("expires"))
_COMPLETE = (
    update(_JOBS)
    .where(_HELD)
    .values(
        status=JobStatus.DONE.value,
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
        lease_owner=None,
        lease_expires_at=None,
        last_error="",
    )
)


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
        self._next_sweep = datetime.min.replace(tzinfo=UTC)

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
        jobs = await self.claim_many(worker_id, kinds, 1, only_ids)
        return jobs[0] if jobs else None

    async def claim_many(
        self,
        worker_id: str,
        kinds: Sequence[str],
        limit: int,
        only_ids: Iterable[int] | None = None,
    ) -> list[Job]:
        """Take up to ``limit`` of the oldest runnable jobs of ``kinds`` in one statement
        (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``)."""
        now = utcnow()
        earlier = aliased(Job)
        blocked = exists().where(
            col(earlier.ordering_key) == col(Job.ordering_key),
            col(earlier.id) < col(Job.id),
            col(earlier.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        runnable = or_(
            and_(col(Job.status) == JobStatus.QUEUED, col(Job.run_after) <= now),
            and_(
                col(Job.status) == JobStatus.RUNNING,
                col(Job.lease_expires_at) < now,
                col(Job.attempts) < col(Job.max_attempts),
            ),
        )
        picked = (
            select(Job.id)
            .where(col(Job.kind).in_(list(kinds)), runnable)
            .where(or_(col(Job.ordering_key).is_(None), ~blocked))
            .order_by(col(Job.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if only_ids is not None:
            picked = picked.where(col(Job.id).in_(list(only_ids)))
        reclaimed = literal("lease of ", String) + func.coalesce(col(Job.lease_owner), "?")
        claim = (
            update(Job)
            .where(col(Job.id).in_(picked.scalar_subquery()))
            .values(
                status=JobStatus.RUNNING,
                attempts=col(Job.attempts) + 1,
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=self.config.lease_seconds),
                updated_at=now,
                # SET sees the old row: note whose lease ran out, when it did.
                last_error=case(
                    (col(Job.status) == JobStatus.RUNNING, reclaimed + literal(" expired")),
                    else_=col(Job.last_error),
                ),
            )
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        async with self.db.session() as s:
            if now >= self._next_sweep:
                await self._fail_abandoned(s, now)
            jobs = sorted((await s.exec(claim)).scalars().all(), key=lambda j: j.id or 0)
        for job in jobs:
            if job.attempts > 1 and job.last_error.startswith("lease of "):
                log.warning(
                    "reclaiming job %s (%s): the %s",
                    job.id,
                    job.kind,
                    job.last_error,
                    extra={"job_id": job.id, "case_id": job.case_id},
                )
        return list(jobs)

    async def _fail_abandoned(self, s: AsyncSession, now: datetime) -> None:
        """Jobs whose worker died holding them on their last attempt: give up."""
        self._next_sweep = now + timedelta(seconds=min(30.0, self.config.lease_seconds / 2))
        await s.exec(
            update(Job)
            .where(
                col(Job.status) == JobStatus.RUNNING,
                col(Job.lease_expires_at) < now,
                col(Job.attempts) >= col(Job.max_attempts),
            )
            .values(
                status=JobStatus.FAILED,
                last_error="lease expired on the last attempt (its worker stopped)",
                finished_at=now,
                updated_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    async def heartbeat(self, job: Job, worker_id: str) -> bool:
        expires = utcnow() + timedelta(seconds=self.config.lease_seconds)
        async with self.db.connection() as conn:
            result = await conn.execute(
                _HEARTBEAT, {"job_id": job.id, "owner": worker_id, "expires": expires}
            )
            return bool(result.rowcount)

    async def complete_in(self, session: AsyncSession, job: Job, worker_id: str) -> None:
        """Mark done within the handler's transaction; raises ``LeaseLost``."""
        await self.complete_on(await session.connection(), job, worker_id)

    async def complete_on(self, conn: AsyncConnection, job: Job, worker_id: str) -> None:
        """``complete_in`` for a handler working on a plain connection."""
        result = await conn.execute(
            _COMPLETE, {"job_id": job.id, "owner": worker_id, "now": utcnow()}
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

    async def complete_on(self, conn: AsyncConnection) -> None:
        await self.queue.complete_on(conn, self.job, self.worker_id)


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
            name = f"worker:{'+'.join(lane.kinds)}"
            self._tasks.append(asyncio.create_task(self._lane(lane), name=name))

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

    async def _lane(self, lane: Lane) -> None:
        """Claim jobs in batches as runners come free; run each on its own task."""
        running: set[asyncio.Task[None]] = set()
        batch = max(1, lane.concurrency // 4)
        try:
            while not self._stopping.is_set():
                free = lane.concurrency - len(running)
                if free == 0:
                    await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if free < batch:
                    await asyncio.sleep(0.005)  # a few more may finish: one claim for all
                    free = lane.concurrency - len(running)
                try:
                    jobs = await self.queue.claim_many(
                        self.worker_id, lane.kinds, free, self.only_ids
                    )
                except Exception:
                    log.exception("claiming jobs failed; retrying")
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self._run(job), name=f"job:{job.id}")
                    running.add(task)
                    task.add_done_callback(running.discard)
                if len(jobs) < free:  # the queue ran dry: wait for news or the next poll
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            if running:  # stopping: let the jobs in flight finish (stop() bounds this)
                await asyncio.gather(*running, return_exceptions=True)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

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
