"""The worker: claims jobs from the queue and runs their handlers until stopped.

Each lane claims jobs of its kinds in batches as its runners come free and runs each on
a task of its own, heartbeating the lease while it runs. ``stop()`` waits up to the
grace period for jobs in flight, then hands the unfinished ones back so another worker
takes them at once.

May import: ``hotline.jobs``, ``hotline.errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.errors import HotlineError
from hotline.jobs import (
    ClaimedJob,
    JobQueue,
    LeaseLost,
    PermanentJobError,
    RetryAfter,
    new_worker_id,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Lease:
    """What a handler gets with its job: the queue and the worker holding it."""

    queue: JobQueue
    job: ClaimedJob
    worker_id: str

    async def complete_in(self, session: AsyncSession) -> None:
        await self.queue.complete_in(session, self.job, self.worker_id)

    async def complete_on(self, conn: AsyncConnection) -> None:
        await self.queue.complete_on(conn, self.job, self.worker_id)


Handler = Callable[[ClaimedJob, Lease], Awaitable[None]]


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

    async def _run(self, job: ClaimedJob) -> None:
        handler = self.handlers[job.kind]
        lease = Lease(self.queue, job, self.worker_id)
        extra = {"job_id": job.id, "case_id": job.case_id}
        # Most jobs end well inside a third of their lease: start heartbeating only then.
        beat: asyncio.Task[None] | None = None

        def start_beating() -> None:
            nonlocal beat
            beat = asyncio.create_task(self._heartbeat(job), name=f"heartbeat:{job.id}")

        interval = self.queue.config.lease_seconds / 3
        timer = asyncio.get_running_loop().call_later(interval, start_beating)
        try:
            await handler(job, lease)
        except asyncio.CancelledError:
            # Shutdown past the grace period: give the job back, don't lose it.
            try:
                await asyncio.shield(self.queue.release(job, self.worker_id))
            except Exception:  # the database is gone too: the lease runs out instead
                log.exception(
                    "job %s could not be handed back at shutdown; another worker takes it "
                    "when its lease expires",
                    job.id,
                    extra=extra,
                )
            else:
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
                exc_info=not isinstance(exc, HotlineError) or (not permanent and _foreign(exc)),
            )
        finally:
            timer.cancel()
            if beat is not None:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    async def _heartbeat(self, job: ClaimedJob) -> None:
        interval = self.queue.config.lease_seconds / 3
        while True:
            try:
                if not await self.queue.heartbeat(job, self.worker_id):
                    return
            except Exception:
                log.exception("heartbeat for job %s failed", job.id)
            await asyncio.sleep(interval)


def _foreign(exc: BaseException) -> bool:
    """Whether a library or the system caused ``exc`` (a model that failed to load, say):
    an error raised on purpose explains itself, such a cause needs its traceback."""
    cause = exc.__cause__
    while cause is not None:
        if not type(cause).__module__.startswith(("hotline.", "transcriber.")):
            return True
        cause = cause.__cause__
    return False
