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
is ``failed``, visible in ``hotline cases`` and ``/api/health``. ``hotline.worker`` runs
the handlers.

May import: ``hotline.store``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Update,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
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
_EARLIER = _JOBS.alias("earlier")
_GIVE_UP = (
    update(_JOBS)
    .where(
        _JOBS.c.status == JobStatus.RUNNING.value,
        _JOBS.c.lease_expires_at < bindparam("now"),
        _JOBS.c.attempts >= _JOBS.c.max_attempts,
    )
    .values(
        status=JobStatus.FAILED.value,
        last_error="lease expired on the last attempt (its worker stopped)",
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
        lease_owner=None,
        lease_expires_at=None,
    )
)


@functools.cache
def _claim_statement(with_ids: bool) -> Update:
    """``UPDATE jobs … WHERE id IN (the oldest runnable, locked, skipping locked ones)
    RETURNING …``; on SQLite the lock clause drops out (its write lock serialises)."""
    blocked = exists().where(
        _EARLIER.c.ordering_key == _JOBS.c.ordering_key,
        _EARLIER.c.id < _JOBS.c.id,
        _EARLIER.c.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]),
    )
    runnable = or_(
        and_(_JOBS.c.status == JobStatus.QUEUED.value, _JOBS.c.run_after <= bindparam("now")),
        and_(
            _JOBS.c.status == JobStatus.RUNNING.value,
            _JOBS.c.lease_expires_at < bindparam("now"),
            _JOBS.c.attempts < _JOBS.c.max_attempts,
        ),
    )
    picked = (
        sa_select(_JOBS.c.id)
        .where(_JOBS.c.kind.in_(bindparam("kinds", expanding=True)), runnable)
        .where(or_(_JOBS.c.ordering_key.is_(None), ~blocked))
        .order_by(_JOBS.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    if with_ids:
        picked = picked.where(_JOBS.c.id.in_(bindparam("ids", expanding=True)))
    reclaimed = literal("lease of ", String) + func.coalesce(_JOBS.c.lease_owner, "?")
    return (
        update(_JOBS)
        .where(_JOBS.c.id.in_(picked.scalar_subquery()))
        .values(
            status=JobStatus.RUNNING.value,
            attempts=_JOBS.c.attempts + 1,
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("expires"),
            updated_at=bindparam("now"),
            # SET sees the old row: note whose lease ran out, when it did.
            last_error=case(
                (_JOBS.c.status == JobStatus.RUNNING.value, reclaimed + literal(" expired")),
                else_=_JOBS.c.last_error,
            ),
        )
        .returning(*(_JOBS.c[name] for name in ClaimedJob.__dataclass_fields__))
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


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job as its worker holds it (a plain value: no database session attached)."""

    id: int
    kind: str
    payload: dict[str, Any]
    case_id: int | None
    attempts: int
    max_attempts: int
    status: str
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str


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
    ) -> ClaimedJob | None:
        """Take the oldest runnable job of ``kinds``, or ``None``."""
        jobs = await self.claim_many(worker_id, kinds, 1, only_ids)
        return jobs[0] if jobs else None

    async def claim_many(
        self,
        worker_id: str,
        kinds: Sequence[str],
        limit: int,
        only_ids: Iterable[int] | None = None,
    ) -> list[ClaimedJob]:
        """Take up to ``limit`` of the oldest runnable jobs of ``kinds`` in one statement
        (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``)."""
        now = utcnow()
        params: dict[str, Any] = {
            "now": now,
            "kinds": list(kinds),
            "limit": limit,
            "owner": worker_id,
            "expires": now + timedelta(seconds=self.config.lease_seconds),
        }
        if only_ids is not None:
            params["ids"] = list(only_ids)
        async with self.db.connection() as conn:
            if now >= self._next_sweep:
                await self._fail_abandoned(conn, now)
            rows = (await conn.execute(_claim_statement(only_ids is not None), params)).all()
        jobs = sorted((ClaimedJob(**row._mapping) for row in rows), key=lambda j: j.id)
        for job in jobs:
            if job.attempts > 1 and job.last_error.startswith("lease of "):
                log.warning(
                    "reclaiming job %s (%s): the %s",
                    job.id,
                    job.kind,
                    job.last_error,
                    extra={"job_id": job.id, "case_id": job.case_id},
                )
        return jobs

    async def _fail_abandoned(self, conn: AsyncConnection, now: datetime) -> None:
        """Jobs whose worker died holding them on their last attempt: give up."""
        self._next_sweep = now + timedelta(seconds=min(30.0, self.config.lease_seconds / 2))
        await conn.execute(_GIVE_UP, {"now": now})

    async def heartbeat(self, job: ClaimedJob, worker_id: str) -> bool:
        expires = utcnow() + timedelta(seconds=self.config.lease_seconds)
        async with self.db.connection() as conn:
            result = await conn.execute(
                _HEARTBEAT, {"job_id": job.id, "owner": worker_id, "expires": expires}
            )
            return bool(result.rowcount)

    async def complete_in(self, session: AsyncSession, job: ClaimedJob, worker_id: str) -> None:
        """Mark done within the handler's transaction; raises ``LeaseLost``."""
        await self.complete_on(await session.connection(), job, worker_id)

    async def complete_on(self, conn: AsyncConnection, job: ClaimedJob, worker_id: str) -> None:
        """``complete_in`` for a handler working on a plain connection."""
        result = await conn.execute(
            _COMPLETE, {"job_id": job.id, "owner": worker_id, "now": utcnow()}
        )
        if not result.rowcount:
            raise LeaseLost(f"job {job.id} is no longer held by {worker_id}")

    async def fail(
        self,
        job: ClaimedJob,
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

    async def release(self, job: ClaimedJob, worker_id: str) -> None:
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
