"""Nothing lost across a crash: recordings an earlier run of the line left in its spool
(killed mid-call, finished but never stored) are handed over when the line starts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hotline.calls import (
    CallEnded,
    CallStarted,
    Incident,
    IncidentKind,
    RecordingFinished,
)
from hotline.rtp.recording import CALLER, CallRecorder
from hotline.sip.spool import Claim, claim_name, write_claim
from tests.integration.sip.conftest import LineFactory, Speech, read_recording
from tests.support.sip_pcap import speech_pcap
from tests.support.sip_peers import call_scenario, run_sipp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def _left_by_a_killed_line(spool: Path, name: str, call_id: str, seconds: float) -> Path:
    """What a line killed mid-call leaves: a claim and a recording still being written
    (its header says nothing yet; a last frame torn)."""
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / name
    write_claim(path, Claim(call_id, "13800138000", "12345", "2026-11-28T03:00:00+00:00"))
    recorder = CallRecorder(path, horizon=800, block=800)
    frames = int(seconds * 8000)
    recorder.put(CALLER, 0, np.full(frames + 800, 1200, dtype=np.int16))
    recorder.advance(frames + 800)
    with open(recorder.partial, "ab") as f:
        f.write(b"\x07")
    return path


async def test_leftovers_are_handed_over_at_start(tmp_path: Path, start_line: LineFactory) -> None:
    spool = tmp_path / "spool" / "sip"
    killed = _left_by_a_killed_line(spool, "20261128T030000Z-13800138000-aaaa.wav", "k@x", 2.5)
    # Finished and published, but the process died before the store took the fact.
    unstored = spool / "20261128T031000Z-13900139000-bbbb.wav"
    write_claim(unstored, Claim("u@x", "13900139000", "12345", "2026-11-28T03:10:00+00:00"))
    CallRecorder(unstored).close(8000)
    # A partial recording nobody claimed, and a claim whose recording is gone.
    orphan = CallRecorder(spool / "20261128T032000Z-x-cccc.wav", horizon=800, block=800)
    orphan.put(CALLER, 0, np.full(1600, 5, dtype=np.int16))
    orphan.advance(1600)
    write_claim(spool / "gone.wav", Claim("g@x", "1", "2", "2026-11-28T03:30:00+00:00"))

    line = await start_line()
    await line.facts.wait_for(RecordingFinished, 3)
    await asyncio.sleep(0.2)  # the last claim is dropped once its fact is stored
    by_call = {f.call_id: f for f in line.facts.of(RecordingFinished)}
    assert set(by_call) == {"k@x", "u@x", "recovered:20261128T032000Z-x-cccc.wav"}

    cut = by_call["k@x"]
    caller, _ = read_recording(cut.path)
    assert cut.path == killed and len(caller) == 2.5 * 8000 and (caller == 1200).all()
    assert cut.details["recovered"] == "salvaged after an unclean stop"
    assert [f.caller for f in line.facts.of(CallStarted, "k@x")] == ["13800138000"]
    (incident,) = line.facts.of(Incident, "k@x")
    assert incident.kind == IncidentKind.INCOMPLETE and "2.5 s recorded" in incident.detail
    (ended,) = line.facts.of(CallEnded, "k@x")
    assert ended.answered and ended.at == cut.at

    again = by_call["u@x"]
    assert again.path == unstored and len(read_recording(unstored)[0]) == 8000
    assert not line.facts.of(Incident, "u@x")
    # Its call is told again, caller included, in case those facts were lost too.
    assert [f.caller for f in line.facts.of(CallStarted, "u@x")] == ["13900139000"]
    (ended,) = line.facts.of(CallEnded, "u@x")
    assert ended.answered and ended.at == again.at

    orphaned = by_call["recovered:20261128T032000Z-x-cccc.wav"]
    assert len(read_recording(orphaned.path)[0]) == 800
    assert [i.kind for i in line.facts.of(Incident, orphaned.call_id)] == [IncidentKind.ORPHANED]

    left = sorted(p.name for p in spool.iterdir())
    assert left == [
        "20261128T030000Z-13800138000-aaaa.wav",
        "20261128T031000Z-13900139000-bbbb.wav",
        "20261128T032000Z-x-cccc.wav",
    ]
    assert line.line.status.recovered == 3


async def test_a_recording_the_store_refused_is_handed_over_at_the_next_start(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line()
    line.facts.refuse = (RecordingFinished,)  # the store is down when the call ends
    pcap = speech_pcap(test_speech.short, tmp_path / "short.pcap", "PCMA")
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 500
    run = await run_sipp(tmp_path, call_scenario(pcap, "PCMA", talk_ms), line.target)
    assert run.returncode == 0, run.output[-2000:]
    async with asyncio.timeout(30):
        while line.line.status.facts_lost == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # the line's status has no event to wait on
    refused = line.facts.refused
    assert len(refused) == 5  # every retry tried
    assert isinstance(refused[0], RecordingFinished)
    path = refused[0].path
    assert claim_name(path).exists()
    await line.line.stop()

    again = await start_line()
    await again.facts.wait_for(RecordingFinished)
    (fact,) = again.facts.of(RecordingFinished)
    assert fact.path == path and fact.call_id == refused[0].call_id
    await asyncio.sleep(0.2)
    assert not claim_name(path).exists()
    assert fact.at <= datetime.now(UTC)
