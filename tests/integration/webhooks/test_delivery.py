"""Signed webhooks to a real receiver that verifies them with ``standardwebhooks``."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientSession, web
from sqlmodel import col, select

from hotline.store.delivery import Delivery, WebhookEndpoint, WebhookEvent
from hotline.store.tables import AuditEvent, Case, Job, JobStatus
from hotline.web.app import make_app
from hotline.webhooks.dispatch import replay
from hotline.webhooks.outbox import DELIVER, EventType
from tests.support import speech
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.rig import Rig
from tests.support.waiting import until


async def _ingest(rig: Rig, tmp_path: Path, name: str = "call.wav") -> Case:
    src = tmp_path / name
    shutil.copyfile(MIXMONITOR_SAMPLE, src)
    return (await rig.core.intake.ingest_file(src, caller="13800138000")).case


async def test_a_case_reaches_the_case_system_signed_in_order_with_a_working_link(
    rig: Rig, tmp_path: Path
) -> None:
    wav = speech.phone_speech(
        "I want to report false statistics at the Golden River factory.", tmp_path / "r.wav"
    )
    case = (await rig.core.intake.ingest_file(wav, caller="13800138000")).case
    worker = rig.core.worker()  # transcription and delivery, as in `hotline worker`
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.accepted) >= 2, within=120)
    finally:
        await worker.stop()
    created, transcribed = (a.event for a in rig.receiver.accepted)
    assert created is not None and transcribed is not None
    assert [created["type"], transcribed["type"]] == ["case.created", "case.transcribed"]
    assert created["data"]["case"]["number"] == case.number
    assert created["data"]["case"]["status"] == "forwarded"
    assert created["data"]["case"]["caller"]["e164"] == "+8613800138000"
    assert created["data"]["case"]["transcript"] is None
    assert "golden river" in transcribed["data"]["case"]["transcript"]["text"].lower()
    assert transcribed["data"]["case"]["transcript"]["segments"]
    rec = transcribed["data"]["recording"]
    assert rec["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert rec["duration"] > 3 and rec["url"].startswith("http://127.0.0.1:")
    assert all(a.verified for a in rig.receiver.attempts)
    assert len({a.msg_id for a in rig.receiver.accepted}) == 2

    # The link in the event is served by `hotline serve` and audited.
    runner = web.AppRunner(make_app(rig.core))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    link = rec["url"].replace(rig.core.settings.base_url, f"http://127.0.0.1:{port}")
    try:
        async with ClientSession() as http:
            async with http.get(link) as resp:
                assert resp.status == 200
                assert hashlib.sha256(await resp.read()).hexdigest() == rec["sha256"]
            async with http.get(link, headers={"Range": "bytes=0-43"}) as resp:
                assert resp.status == 206 and (await resp.read())[:4] == b"RIFF"
            parts = urlsplit(link)
            query = parse_qs(parts.query)
            sig = query["sig"][0]
            # Another first character: "A" + sig[1:] is the same link for a signature
            # that starts with A (one link in 64).
            tampered = link.replace(sig, ("B" if sig[0] == "A" else "A") + sig[1:])
            async with http.get(tampered) as resp:
                assert resp.status == 403
            longer = link.replace(
                f"expires={query['expires'][0]}", f"expires={int(query['expires'][0]) + 3600}"
            )
            async with http.get(longer) as resp:
                assert resp.status == 403
            signer = await rig.core.delivery.signer()
            old, _ = signer.url(
                f"http://127.0.0.1:{port}", rec["sha256"], 60, now=time.time() - 120
            )
            async with http.get(old) as resp:
                assert resp.status == 410
    finally:
        await runner.cleanup()
    async with rig.core.db.session() as s:
        downloads = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "recording.downloaded"))
        ).all()
    assert len(downloads) == 2 and all(d.case_id == case.id for d in downloads)


async def test_receiver_failures_are_retried_with_the_same_id_until_it_recovers(
    rig: Rig, tmp_path: Path
) -> None:
    await rig.receiver.stop()  # down: connection refused
    case = await _ingest(rig, tmp_path)
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await asyncio.sleep(0.6)
        await rig.receiver.start()
        for mode in ("error", "hang", "drop"):
            rig.receiver.mode = mode
            seen = len(rig.receiver.attempts)
            await rig.receiver.wait_for(lambda r, n=seen: len(r.attempts) > n, within=10)
        rig.receiver.mode = "ok"
        await rig.receiver.wait_for(lambda r: len(r.accepted) == 1, within=10)
    finally:
        await worker.stop()
    ids = {a.msg_id for a in rig.receiver.attempts}
    assert len(ids) == 1, "every attempt carries the same webhook-id"
    assert {a.mode for a in rig.receiver.attempts} >= {"error", "hang", "drop", "ok"}
    assert rig.receiver.accepted[0].event["data"]["case"]["number"] == case.number  # type: ignore[index]
    async with rig.core.db.session() as s:
        (delivery,) = (await s.exec(select(Delivery))).all()
    assert delivery.status == "delivered"
    assert delivery.attempts > len(rig.receiver.attempts)  # and the refused connections


async def test_nothing_is_sent_for_a_change_that_rolled_back(rig: Rig) -> None:
    try:
        async with rig.core.db.session() as s:
            await rig.core.outbox.emit(s, EventType.CASE_UPDATED, {"case": {"number": "X"}})
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    async with rig.core.db.session() as s:
        assert (await s.exec(select(WebhookEvent))).all() == []
    # A change that did commit, after it: once its event has arrived, the worker has
    # been through the queue, and the rolled-back one would have come first.
    async with rig.core.db.session() as s:
        await rig.core.outbox.emit(s, EventType.CASE_UPDATED, {"case": {"number": "Y"}})
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.accepted) == 1, within=10)
    finally:
        await worker.stop()
    (only,) = rig.receiver.attempts
    assert only.event is not None and only.event["data"]["case"] == {"number": "Y"}


async def test_a_dead_delivery_is_visible_and_replayable(rig: Rig, tmp_path: Path) -> None:
    rig.receiver.mode = "error"
    await _ingest(rig, tmp_path)
    worker = rig.delivery_worker()
    await worker.start()
    try:
        every = len(rig.core.settings.retry_delays) + 1
        await rig.receiver.wait_for(lambda r: len(r.attempts) == every, within=20)

        async def dead() -> bool:  # the last answer is recorded after it arrives
            async with rig.core.db.session() as s:
                (delivery,) = (await s.exec(select(Delivery))).all()
            return delivery.status == "dead"

        await until(dead, within=10)
        async with rig.core.db.session() as s:
            (delivery,) = (await s.exec(select(Delivery))).all()
        assert delivery.status == "dead" and delivery.attempts == every
        assert delivery.last_status_code == 500
        rig.receiver.mode = "ok"
        assert await replay(rig.core.db, rig.core.queue, rig.core.settings, None) == 1
        await rig.receiver.wait_for(lambda r: len(r.accepted) == 1, within=10)
    finally:
        await worker.stop()
    assert len({a.msg_id for a in rig.receiver.attempts}) == 1


async def test_410_gone_disables_the_endpoint(rig: Rig, tmp_path: Path) -> None:
    rig.receiver.mode = "gone"
    await _ingest(rig, tmp_path, "a.wav")
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.attempts) == 1, within=10)

        async def disabled() -> bool:  # the 410 is recorded after it arrives
            async with rig.core.db.session() as s:
                (endpoint,) = (await s.exec(select(WebhookEndpoint))).all()
            return not endpoint.enabled

        await until(disabled, within=10)
        other = tmp_path / "b.wav"
        speech.tone(other, seconds=5, kind="noise")
        await rig.core.intake.ingest_file(other, caller="1")

        async def settled() -> bool:  # no delivery left that the worker could still send
            async with rig.core.db.session() as s:
                open_jobs = (
                    await s.exec(
                        select(Job).where(
                            Job.kind == DELIVER,
                            col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                        )
                    )
                ).all()
            return not open_jobs

        await until(settled, within=10)
    finally:
        await worker.stop()
    assert len(rig.receiver.attempts) == 1
    async with rig.core.db.session() as s:
        (endpoint,) = (await s.exec(select(WebhookEndpoint))).all()
        deliveries = (await s.exec(select(Delivery))).all()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert [d.status for d in deliveries] == ["dead"]  # nothing queued for a disabled endpoint


async def test_one_case_s_events_stay_in_order_behind_a_failing_first(
    rig: Rig, tmp_path: Path
) -> None:
    case = await _ingest(rig, tmp_path)
    async with rig.core.db.session() as s:
        row = await s.get(Case, case.id)
        assert row is not None
        for n in range(3):
            row.operator_notes = f"note {n}"
            await rig.core.outbox.case_updated(s, row)
    rig.receiver.mode = "error"
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.attempts) >= 2, within=10)
        rig.receiver.mode = "ok"
        await rig.receiver.wait_for(lambda r: len(r.accepted) == 4, within=15)
    finally:
        await worker.stop()
    events = [a.event for a in rig.receiver.accepted]
    assert [e["type"] for e in events] == ["case.created"] + ["case.updated"] * 3  # type: ignore[index]
    assert [e["data"]["case"]["operator_notes"] for e in events[1:]] == [  # type: ignore[index]
        "note 0",
        "note 1",
        "note 2",
    ]


async def test_manual_forwarding_holds_the_case_until_a_handler_forwards_it(
    rig: Rig, tmp_path: Path, make_settings: object
) -> None:
    from hotline.service import Hotline

    manual = Hotline(rig.core.settings.model_copy(update={"forward": "manual"}))
    await manual.open()
    try:
        src = tmp_path / "m.wav"
        shutil.copyfile(MIXMONITOR_SAMPLE, src)
        case = (await manual.intake.ingest_file(src, caller="1")).case
        async with manual.db.session() as s:
            assert (await s.exec(select(WebhookEvent))).all() == []
        forwarded, done = await manual.forward(case.number, "user:handler")
        assert done and forwarded.status == "forwarded"
        _again, done = await manual.forward(case.number, "user:handler")
        assert not done
        worker = Rig(manual, rig.receiver).delivery_worker()
        await worker.start()
        try:
            await rig.receiver.wait_for(lambda r: len(r.accepted) == 1, within=10)
        finally:
            await worker.stop()
        event = rig.receiver.accepted[0].event
        assert event is not None and event["type"] == "case.created"
        async with manual.db.session() as s:
            actions = [a.action for a in (await s.exec(select(AuditEvent))).all()]
        assert "case.forwarded" in actions
    finally:
        await manual.close()


async def test_each_cases_link_to_identical_bytes_is_audited_on_that_case(
    rig: Rig, tmp_path: Path
) -> None:
    """Two calls with byte-identical recordings: the link in each case's event serves the
    bytes and the download is audited on the case the link was sent for."""
    cases = [await _ingest(rig, tmp_path, name) for name in ("one.wav", "two.wav")]
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.accepted) >= 2, within=30)
    finally:
        await worker.stop()
    links = {
        a.event["data"]["case"]["number"]: a.event["data"]["recording"]["url"]
        for a in rig.receiver.accepted
        if a.event is not None
    }
    runner = web.AppRunner(make_app(rig.core))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with ClientSession() as http:
            for case in reversed(cases):
                link = links[case.number].replace(
                    rig.core.settings.base_url, f"http://127.0.0.1:{port}"
                )
                async with http.get(link) as resp:
                    assert resp.status == 200
                    assert await resp.read() == MIXMONITOR_SAMPLE.read_bytes()
                forged = link.replace(f"case={case.id}", f"case={cases[0].id + cases[1].id}")
                async with http.get(forged) as resp:
                    assert resp.status == 403
    finally:
        await runner.cleanup()
    async with rig.core.db.session() as s:
        downloads = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "recording.downloaded"))
        ).all()
    assert [d.case_id for d in downloads] == [cases[1].id, cases[0].id]
