"""What HOTLINE_LINK_TTL_SECONDS and HOTLINE_WEBHOOK_CONCURRENCY change in a delivery."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlmodel import col, func, select

from hotline.config import Settings
from hotline.store.tables import Job, JobStatus
from hotline.webhooks.outbox import DELIVER
from tests.integration.webhooks.conftest import open_rig
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.rig import Rig


async def _ingest(rig: Rig, tmp_path: Path, n: int = 1) -> None:
    for i in range(n):
        src = tmp_path / f"call-{i}.wav"
        shutil.copyfile(MIXMONITOR_SAMPLE, src)
        await rig.core.intake.ingest_file(src, caller=f"1380013800{i}")


async def _deliveries(rig: Rig) -> list[int]:
    async with rig.core.db.session() as s:
        jobs = (await s.exec(select(Job).where(col(Job.kind) == DELIVER))).all()
    return [j.id for j in jobs if j.id is not None]


async def test_a_recording_link_lives_as_long_as_the_setting_says(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    ttl = 600  # not the default of a day
    async with open_rig(db_url, make_settings, link_ttl_seconds=ttl) as rig:
        await _ingest(rig, tmp_path)
        worker = rig.core.worker(only_ids=await _deliveries(rig))  # no transcription
        before = time.time()
        await worker.start()
        try:
            await rig.receiver.wait_for(lambda r: len(r.accepted) == 1, within=30)
        finally:
            await worker.stop()
        after = time.time()
    event = rig.receiver.accepted[0].event
    assert event is not None
    rec = event["data"]["recording"]
    expires = int(parse_qs(urlsplit(rec["url"]).query)["expires"][0])
    assert int(before) + ttl <= expires <= after + ttl
    assert datetime.fromisoformat(rec["url_expires_at"]).timestamp() == expires


async def test_deliveries_run_side_by_side_up_to_the_concurrency(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with open_rig(
        db_url, make_settings, webhook_concurrency=3, webhook_timeout_seconds=60
    ) as rig:
        await _ingest(rig, tmp_path, n=8)  # eight cases: no order between their events
        ids = await _deliveries(rig)
        assert len(ids) == 8
        rig.receiver.mode = "hold"
        worker = rig.core.worker(only_ids=ids)
        await worker.start()
        try:
            await rig.receiver.wait_for(lambda r: r.in_flight == 3, within=30)
            # All eight were queued before the worker started, and it claims what it
            # has room for in one statement: had it room for more than three, more than
            # three would be running now.
            async with rig.core.db.session() as s:
                running = (
                    await s.exec(
                        select(func.count())
                        .select_from(Job)
                        .where(col(Job.kind) == DELIVER, col(Job.status) == JobStatus.RUNNING)
                    )
                ).one()
            assert running == 3
            rig.receiver.release.set()
            await rig.receiver.wait_for(lambda r: len(r.accepted) == 8, within=30)
        finally:
            await worker.stop()
    assert rig.receiver.most_in_flight == 3
