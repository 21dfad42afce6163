"""The lease-based job queue on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from hotline.jobs import ClaimedJob, JobQueue, LeaseLost, PermanentJobError, QueueConfig
from hotline.service import Hotline
from hotline.store.db import Database
from hotline.store.tables import Job, JobStatus
from hotline.store.types import utcnow
from hotline.worker import Lane, Lease, Worker


async def _enqueue(queue: JobQueue, n: int, kind: str = "probe", **kw: object) -> list[int]:
    async with queue.db.session() as s:
        jobs = [queue.enqueue(s, kind, {"n": i}, **kw) for i in range(n)]  # type: ignore[arg-type]
        await s.flush()
        return [j.id for j in jobs if j.id is not None]


async def _job(db: Database, job_id: int) -> Job:
    async with db.session() as s:
        job = await s.get(Job, job_id)
        assert job is not None
        return job


async def test_claim_complete_in_order(core: Hotline) -> None:
    q = core.queue
    ids = await _enqueue(q, 3)
    seen = []
    while (job := await q.claim("w1", ["probe"])) is not None:
        assert job.status == JobStatus.RUNNING and job.attempts == 1
        assert job.lease_owner == "w1" and job.lease_expires_at is not None
        async with core.db.session() as s:
            await q.complete_in(s, job, "w1")
        seen.append(job.id)
    assert seen == ids
    assert (await _job(core.db, ids[0])).status == JobStatus.DONE
    assert await q.claim("w1", ["other-kind"]) is None


async def test_failures_back_off_then_give_up(core: Hotline) -> None:
    q = JobQueue(core.db, QueueConfig(lease_seconds=5, max_attempts=3, backoff_seconds=30))
    (job_id,) = await _enqueue(q, 1, max_attempts=3)
    job = await q.claim("w1", ["probe"])
    assert job is not None
    assert await q.fail(job, "w1", "boom") == JobStatus.QUEUED
    after = await _job(core.db, job_id)
    assert after.last_error == "boom"
    assert after.run_after > utcnow() + timedelta(seconds=20)  # 30 s ± jitter
    assert await q.claim("w1", ["probe"]) is None  # not before its time
    # Pretend the backoff elapsed, twice more: the third failure is final.
    for attempt in (2, 3):
        async with core.db.session() as s:
            row = await s.get(Job, job_id)
            assert row is not None
            row.run_after = utcnow() - timedelta(seconds=1)
            s.add(row)
        job = await q.claim("w1", ["probe"])
        assert job is not None and job.attempts == attempt
        status = await q.fail(job, "w1", f"boom {attempt}")
    assert status == JobStatus.FAILED
    final = await _job(core.db, job_id)
    assert final.status == JobStatus.FAILED and final.finished_at is not None
    assert (await q.counts())["failed"] == 1
    assert await q.retry_failed([job_id]) == 1
    assert (await _job(core.db, job_id)).status == JobStatus.QUEUED


async def test_the_backoff_doubles_per_attempt_up_to_its_cap(core: Hotline) -> None:
    q = JobQueue(core.db, QueueConfig(max_attempts=20, backoff_seconds=10, backoff_max_seconds=100))
    ids = await _enqueue(q, 6, max_attempts=20)
    jobs = await q.claim_many("w1", ["probe"], 6)
    assert [j.id for j in jobs] == ids
    delays = {}
    for attempt, job in enumerate(jobs, start=1):
        # The job as its worker holds it on this attempt (a plain value).
        on_attempt = dataclasses.replace(job, attempts=attempt)
        before = utcnow()
        assert await q.fail(on_attempt, "w1", "boom") == JobStatus.QUEUED
        after = utcnow()
        run_after = (await _job(core.db, job.id)).run_after
        delays[attempt] = (
            (run_after - after).total_seconds(),
            (run_after - before).total_seconds(),
        )
    # 10 s, then twice as long each attempt (± 20 % jitter), never over 100 s (± 20 %).
    for attempt, nominal in {1: 10, 2: 20, 3: 40, 4: 80, 5: 100, 6: 100}.items():
        low, high = delays[attempt]
        assert 0.8 * nominal <= high and low <= 1.2 * nominal, (attempt, delays[attempt])


async def test_the_jitter_spreads_retries_within_a_fifth_either_way(core: Hotline) -> None:
    q = JobQueue(core.db, QueueConfig(backoff_seconds=10))
    await _enqueue(q, 50)
    spans = []  # (the least, the most) each delay can be, from the times around fail()
    for job in await q.claim_many("w1", ["probe"], 50):
        before = utcnow()
        await q.fail(job, "w1", "boom")
        after = utcnow()
        run_after = (await _job(core.db, job.id)).run_after
        spans.append(((run_after - after).total_seconds(), (run_after - before).total_seconds()))
    assert all(low <= 12 and high >= 8 for low, high in spans), sorted(spans)
    assert max(low for low, _ in spans) - min(high for _, high in spans) > 2  # spread out


async def test_a_failure_is_recorded_only_by_the_lease_holder_and_kept_short(
    core: Hotline,
) -> None:
    q = core.queue
    (job_id,) = await _enqueue(q, 1)
    job = await q.claim("w1", ["probe"])
    assert job is not None
    await q.fail(job, "not-the-holder", "late news")
    row = await _job(core.db, job_id)
    assert row.status == JobStatus.RUNNING and row.lease_owner == "w1" and row.last_error == ""
    await q.fail(job, "w1", "x" * 5000)
    assert (await _job(core.db, job_id)).last_error == "x" * 4000


async def test_an_expired_lease_is_reclaimed_and_the_old_owner_cannot_finish(core: Hotline) -> None:
    q = JobQueue(core.db, QueueConfig(lease_seconds=0.3))
    (job_id,) = await _enqueue(q, 1)
    stale = await q.claim("dead-worker", ["probe"])
    assert stale is not None
    assert await q.claim("w2", ["probe"]) is None  # still leased
    async with asyncio.timeout(10):  # claimable again once the lease has run out
        while (fresh := await q.claim("w2", ["probe"])) is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert stale.lease_expires_at is not None and utcnow() >= stale.lease_expires_at
    assert fresh.id == job_id and fresh.attempts == 2
    with pytest.raises(LeaseLost):
        async with core.db.session() as s:
            await q.complete_in(s, stale, "dead-worker")
    assert not await q.heartbeat(stale, "dead-worker")
    async with core.db.session() as s:
        await q.complete_in(s, fresh, "w2")
    assert (await _job(core.db, job_id)).status == JobStatus.DONE


async def test_a_job_whose_workers_keep_dying_ends_failed(core: Hotline) -> None:
    q = JobQueue(core.db, QueueConfig(lease_seconds=0.1))
    (job_id,) = await _enqueue(q, 1, max_attempts=2)
    for _ in range(2):
        held = await q.claim("crashy", ["probe"])
        assert held is not None and held.lease_expires_at is not None
        # The worker "dies": its lease runs out.
        await asyncio.sleep((held.lease_expires_at - utcnow()).total_seconds() + 0.01)
    assert await q.claim("w", ["probe"]) is None
    job = await _job(core.db, job_id)
    assert job.status == JobStatus.FAILED
    assert "lease expired" in job.last_error


async def test_jobs_sharing_an_ordering_key_run_one_at_a_time(core: Hotline) -> None:
    q = core.queue
    a, b = await _enqueue(q, 2, ordering_key="case:1")
    (c,) = await _enqueue(q, 1, ordering_key="case:2")
    first = await q.claim("w", ["probe"])
    second = await q.claim("w", ["probe"])
    assert first is not None and first.id == a
    assert second is not None and second.id == c  # b waits for a
    assert await q.claim("w", ["probe"]) is None
    async with core.db.session() as s:
        await q.complete_in(s, first, "w")
    third = await q.claim("w", ["probe"])
    assert third is not None and third.id == b


async def test_release_gives_the_job_back_without_using_an_attempt(core: Hotline) -> None:
    q = core.queue
    (job_id,) = await _enqueue(q, 1)
    job = await q.claim("w", ["probe"])
    assert job is not None
    await q.release(job, "w")
    again = await q.claim("w2", ["probe"])
    assert again is not None and again.id == job_id and again.attempts == 1


async def test_worker_runs_handlers_and_records_failures(core: Hotline) -> None:
    q = core.queue
    ok_ids = await _enqueue(q, 3, kind="ok")
    (bad_id,) = await _enqueue(q, 1, kind="bad")
    (flaky_id,) = await _enqueue(q, 1, kind="flaky")
    ran: list[int] = []
    flaky_calls = 0

    async def ok(job: ClaimedJob, lease: Lease) -> None:
        async with core.db.session() as s:
            await lease.complete_in(s)
        ran.append(job.id or 0)

    async def bad(job: ClaimedJob, lease: Lease) -> None:
        raise PermanentJobError("cannot ever work")

    async def flaky(job: ClaimedJob, lease: Lease) -> None:
        nonlocal flaky_calls
        flaky_calls += 1
        if flaky_calls == 1:
            raise ConnectionError("temporary")
        async with core.db.session() as s:
            await lease.complete_in(s)

    worker = Worker(
        q,
        {"ok": ok, "bad": bad, "flaky": flaky},
        [Lane(("ok", "bad", "flaky"), 2)],
        poll_seconds=0.05,
    )
    await worker.start()
    try:
        async with asyncio.timeout(20):
            while (await _job(core.db, flaky_id)).status != JobStatus.DONE:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # a row's state has no event to wait on
    finally:
        await worker.stop()
    assert sorted(ran) == ok_ids
    bad_job = await _job(core.db, bad_id)
    assert bad_job.status == JobStatus.FAILED and "cannot ever work" in bad_job.last_error
    assert bad_job.attempts == 1
    assert flaky_calls == 2


async def test_two_worker_processes_share_postgres_and_run_each_job_once(
    pg_url: str, tmp_path: Path
) -> None:
    db = Database(pg_url)
    await db.upgrade()
    queue = JobQueue(db, QueueConfig())
    ids = await _enqueue(queue, 120)
    out = tmp_path / "done.txt"
    cmd = [sys.executable, "-m", "tests.support.queue_worker", pg_url, str(out), "0.02"]
    root = Path(__file__).parents[3]
    procs = [await asyncio.create_subprocess_exec(*cmd, cwd=root) for _ in range(2)]
    try:
        for p in procs:
            assert await asyncio.wait_for(p.wait(), 120) == 0
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
    lines = out.read_text().split()
    done = Counter(int(job) for job in lines[0::2])
    workers = Counter(lines[1::2])
    assert sorted(done) == ids
    assert set(done.values()) == {1}, "a job ran twice"
    assert len(workers) == 2 and min(workers.values()) > 10, workers  # both took a share
    async with db.session() as s:
        statuses = {j.status for j in (await s.exec(select(Job))).all()}
    assert statuses == {JobStatus.DONE}
    await db.close()
