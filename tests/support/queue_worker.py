"""A worker process for queue tests: runs ``hotline.jobs.Worker`` against a database,
and for each ``probe`` job appends "job-id worker-id" to a file (O_APPEND, one line per
write), taking a little time so that several workers overlap.

    python -m tests.support.queue_worker DATABASE_URL OUT_FILE SECONDS_PER_JOB
"""

from __future__ import annotations

import asyncio
import os
import sys

from hotline.jobs import ClaimedJob, JobQueue, QueueConfig
from hotline.store.db import Database
from hotline.worker import Lane, Lease, Worker


async def main(url: str, out: str, per_job: float) -> None:
    db = Database(url)
    queue = JobQueue(db, QueueConfig(lease_seconds=10))
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def probe(job: ClaimedJob, lease: Lease) -> None:
        await asyncio.sleep(per_job)
        async with db.session() as s:
            await lease.complete_in(s)
        os.write(fd, f"{job.id} {lease.worker_id}\n".encode())

    worker = Worker(queue, {"probe": probe}, [Lane(("probe",), 4)], poll_seconds=0.05)
    await worker.start()
    try:
        while True:  # until the parent kills us, or the queue is drained
            await asyncio.sleep(0.2)
            counts = await queue.counts()
            if not counts.get("queued") and not counts.get("running"):
                break
    finally:
        await worker.stop()
        await db.close()
        os.close(fd)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
