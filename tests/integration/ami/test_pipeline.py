"""The Asterisk source end to end: simulated PBX (real captured AMI traffic over TCP on
127.0.0.1) -> call facts -> ``Hotline.on_fact`` -> sealed recordings, draft cases,
incidents and webhook events, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from hotline.ami import AsteriskSource
from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.delivery import WebhookEvent
from hotline.store.tables import AuditEvent, Call, Case, Incident, Job, Recording
from hotline.webhooks.endpoints import new_secret
from tests.integration.ami.test_source import SPEED, config
from tests.support.ami_captures import wav_bytes
from tests.support.ami_simulator import AMISimulator
from tests.support.fixtures import MIXMONITOR_SAMPLE

ANSWERED = "hotline-20261128-001159-1795824714.0.wav"


@pytest.fixture
async def core(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Hotline]:
    # A webhook endpoint (nothing listens; no worker runs) so the outbox shows what
    # the case system would be sent.
    hotline = Hotline(
        make_settings(
            database_url=db_url,
            webhook_url="http://127.0.0.1:9/hotline",
            webhook_secret=new_secret(),
            forward="auto",
        )
    )
    await hotline.open(migrate=True)
    yield hotline
    await hotline.close()


async def _rows(core: Hotline, table: type) -> list:  # type: ignore[type-arg]
    async with core.db.session() as s:
        return list((await s.exec(select(table))).all())


async def _wait(core: Hotline, table: type, n: int = 1) -> list:  # type: ignore[type-arg]
    """Rows once there are ``n`` (the caller's timeout bounds the wait; rows have no
    event to wait on)."""
    while len(rows := await _rows(core, table)) < n:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return rows


async def test_an_answered_call_becomes_a_draft_case_with_the_sealed_recording(
    core: Hotline, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(40),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
        AsteriskSource(config(sim, tmp_path), core.on_fact, time_scale=SPEED),
    ):
        (case,) = await _wait(core, Case)
    (rec,) = await _rows(core, Recording)
    assert rec.sha256 == hashlib.sha256(MIXMONITOR_SAMPLE.read_bytes()).hexdigest()
    assert rec.original_name == ANSWERED and rec.duration == pytest.approx(27.58)
    assert rec.details["late_start_seconds"] and rec.expected_duration == pytest.approx(27.9, abs=1)
    (call,) = await _rows(core, Call)
    assert (call.source, call.external_id, call.state) == ("asterisk", "1795824714.0", "ended")
    assert call.answered_at is not None and call.ended_at is not None
    assert case.call_id == call.id and case.status == "forwarded"
    (late,) = await _wait(core, Incident)  # the lab dialplan records after the notice
    assert late.kind == "recording.incomplete" and late.case_id == case.id
    assert "recording notice are not in the evidence" in late.detail
    actions = [e.action for e in await _rows(core, AuditEvent)]
    for action in (
        "call.started",
        "call.answered",
        "recording.started",
        "call.ended",
        "recording.sealed",
        "case.opened",
        "transcription.queued",
    ):
        assert action in actions
    assert [j.kind for j in await _rows(core, Job) if j.kind == "transcribe"] == ["transcribe"]
    types = [e.type for e in await _rows(core, WebhookEvent)]
    assert types == ["case.created", "recording.incomplete"]


async def test_a_call_abandoned_during_the_notice_under_the_old_dialplan_is_unrecorded(
    core: Hotline, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(40),
        AMISimulator("abandoned-during-notice", recordings_dir=tmp_path, speed=SPEED) as sim,
    ):
        cfg = config(sim, tmp_path, mixmonitor_grace=60.0)  # hotline does not step in here
        async with AsteriskSource(cfg, core.on_fact, time_scale=SPEED):
            (incident,) = await _wait(core, Incident)
    assert incident.kind == "call.unrecorded" and incident.call_id is not None
    assert await _rows(core, Case) == []
    assert "incident.call.unrecorded" in [e.action for e in await _rows(core, AuditEvent)]
    (event,) = await _rows(core, WebhookEvent)
    assert event.type == "call.unrecorded"
    assert event.data["incident"]["call"] == incident.source_call_id


@pytest.mark.parametrize("trouble", ["drop", "restart", "garbage"])
async def test_link_trouble_mid_call_still_ends_in_one_case(
    core: Hotline, tmp_path: Path, trouble: str
) -> None:
    async with (
        asyncio.timeout(40),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
    ):
        cfg = config(sim, tmp_path, seen_ledger=tmp_path / "state" / "seen")
        source = AsteriskSource(cfg, core.on_fact, time_scale=SPEED)
        await source.start()
        await sim.wait_until(12.0)
        if trouble == "drop":
            sim.drop()
        elif trouble == "garbage":
            sim.send_raw(
                b"\x00\xff garbage\r\n\r\nNo colon here\r\n\r\n" + os.urandom(500) + b"\r\n\r\n"
            )
        else:
            await source.stop()
            source = AsteriskSource(cfg, core.on_fact, time_scale=SPEED)
            await source.start()
        try:
            await _wait(core, Case)
            await asyncio.sleep(0.3)
        finally:
            await source.stop()
    assert len(await _rows(core, Case)) == 1
    assert len(await _rows(core, Recording)) == 1
    assert len(await _rows(core, Call)) == 1
    others = [i for i in await _rows(core, Incident) if i.kind != "source.down"]
    assert [i.kind for i in others] == ["recording.incomplete"]  # the late start, once
    assert "recording notice are not in the evidence" in others[0].detail


async def test_a_short_file_raises_recording_incomplete(core: Hotline, tmp_path: Path) -> None:
    async with (
        asyncio.timeout(40),
        AMISimulator(
            "answered-call", recordings_dir=tmp_path, speed=SPEED, durations={ANSWERED: 10.0}
        ) as sim,
        AsteriskSource(config(sim, tmp_path), core.on_fact, time_scale=SPEED),
    ):
        incidents = await _wait(core, Incident, 2)
    (case,) = await _rows(core, Case)
    (incident,) = [i for i in incidents if "lasts 10.00 s" in i.detail]
    assert incident.kind == "recording.incomplete" and incident.case_id == case.id
    types = sorted(e.type for e in await _rows(core, WebhookEvent))
    assert types == ["case.created", "recording.incomplete", "recording.incomplete"]


async def test_a_failed_login_is_reported_not_retried(
    core: Hotline, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    from hotline.sources import build_sources

    async with asyncio.timeout(30), AMISimulator("failed-login", speed=SPEED) as sim:
        settings = make_settings(ami_url=sim.url(), asterisk_recordings=tmp_path)
        (source,) = build_sources(settings, core.on_fact)
        await source.start()
        try:
            (incident,) = await _wait(core, Incident)
            await asyncio.sleep(1.0)
            health = source.health()
        finally:
            await source.stop()
        assert sim.logins == 1 and sim.connections == 1
    assert incident.kind == "source.down" and "refused our login" in incident.detail
    assert health["ok"] is False and health["state"] == "login failed"
    assert "Authentication failed" in health["last_error"]


async def test_no_answer_ends_in_one_case_with_the_call_and_the_message(
    core: Hotline, tmp_path: Path
) -> None:
    async with (
        asyncio.timeout(40),
        AMISimulator("operator-noanswer-record", recordings_dir=tmp_path, speed=15) as sim,
        AsteriskSource(config(sim, tmp_path), core.on_fact, time_scale=15),
    ):
        await _wait(core, Recording, 2)
    (case,) = await _rows(core, Case)
    recs = sorted(await _rows(core, Recording), key=lambda r: r.leg)
    assert [r.leg for r in recs] == ["message", "mix"]
    assert {r.call_id for r in recs} == {case.call_id}
    # The message is inside the mix too: only the mix is transcribed.
    jobs = [j for j in await _rows(core, Job) if j.kind == "transcribe" and j.status != "cancelled"]
    assert [j.payload["recording_id"] for j in jobs] == [r.id for r in recs if r.leg == "mix"]


async def test_an_orphaned_file_found_at_start_becomes_a_case(
    core: Hotline, tmp_path: Path
) -> None:
    orphan = tmp_path / "hotline-20261128-001245-1795824760.3.wav"
    orphan.write_bytes(wav_bytes(4.76))
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    async with (
        asyncio.timeout(30),
        AMISimulator("actions", recordings_dir=tmp_path, speed=SPEED) as sim,
        AsteriskSource(config(sim, tmp_path), core.on_fact, time_scale=SPEED),
    ):
        (case,) = await _wait(core, Case)
        await _wait(core, Incident)
    (incident,) = await _rows(core, Incident)
    assert incident.kind == "recording.orphaned"
    async with core.db.session() as s:
        call = (await s.exec(select(Call).where(col(Call.id) == case.call_id))).one()
    assert call.external_id == "1795824760.3"
