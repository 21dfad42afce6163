"""Bridging: after the notice the line rings an operator's phone and connects the caller
to it. Both are real softphones (baresip); each keeps what it heard, so the test checks
what the caller heard, what the operator heard, and what the recording holds."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.calls import CallEnded, RecordingFinished
from hotline.sip.config import default_notice
from tests.integration.sip.conftest import (
    KEYWORDS,
    KEYWORDS_2,
    Line,
    LineFactory,
    Speech,
    read_recording,
)
from tests.support.sip_pcap import speech_pcap
from tests.support.sip_peers import (
    HOTLINE,
    SippRun,
    call_scenario,
    free_port,
    heard,
    operator_busy_scenario,
    operator_hangs_up_scenario,
    operator_ringing_scenario,
    run_baresip,
    run_sipp,
    start_baresip_operator,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _padded(source: Path, out: Path, *, before: float, after: float) -> Path:
    """``source`` with ``before`` and ``after`` seconds of silence around it."""
    samples = _read(source)
    pad = np.zeros(int(before * 8000), dtype=np.int16), np.zeros(int(after * 8000), np.int16)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.concatenate([pad[0], samples, pad[1]]).tobytes())
    return out


async def test_the_caller_talks_with_the_operator_and_both_sides_are_recorded(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    notice = test_speech.seconds(default_notice("en"))
    # The caller speaks once the operator is on the line; the operator answers at once
    # and speaks first. The caller's phone hangs up when its file ends.
    caller_wav = _padded(test_speech.report, tmp_path / "caller.wav", before=notice + 2, after=1)
    operator_wav = _padded(test_speech.report_2, tmp_path / "operator.wav", before=0.3, after=30)
    port = free_port()
    operator = await start_baresip_operator(
        tmp_path, operator_wav, port, codec="PCMA", seconds=60, hear=tmp_path / "operator-heard"
    )
    try:
        await asyncio.sleep(0.5)  # baresip is listening
        line = await start_line(operator=f"sip:desk@127.0.0.1:{port}", operator_ring_seconds=10)
        output = await run_baresip(
            tmp_path,
            caller_wav,
            f"sip:{HOTLINE}@{line.target}",
            codec="PCMU",
            seconds=int(test_speech.seconds(caller_wav)) + 10,
            hear=tmp_path / "caller-heard",
        )
        assert "Call established" in output, output[-2000:]
        await line.facts.ended()
    finally:
        operator.terminate()
        await operator.wait()
    (ended,) = line.facts.of(CallEnded)
    assert ended.answered and ended.cause == "caller hung up"
    (finished,) = line.facts.of(RecordingFinished)
    details = finished.details
    assert details["operator_result"] == "answered", details
    answered_after = float(details["operator_answered_after"])
    assert notice <= answered_after < notice + 2  # rung once the notice had played
    assert details["codec"] == "PCMU" and details["packets_lost"] == "0"

    caller, sent = read_recording(finished.path)
    assert abs(len(caller) / 8000 - finished.expected_duration) < 0.1
    said = transcribe(caller)
    assert all(word in said for word in KEYWORDS), said
    split = int(answered_after * 8000)
    assert "recorded" in transcribe(sent[:split])  # the notice
    operator_said = transcribe(sent[split:])  # the operator, from the PCMA leg
    assert all(word in operator_said for word in KEYWORDS_2), operator_said

    # Each phone heard the other: the caller the notice, then the operator (A-law turned
    # µ-law on the way); the operator the caller (the other way round).
    # The two are transcribed apart, as the recording's channel is: the operator speaks
    # a fraction of a second after the notice ends, and the model, given both at once,
    # may stop at the notice's last sentence.
    caller_heard = _read(heard(tmp_path / "caller-heard"))
    notice_heard = transcribe(caller_heard[:split])
    assert "recorded" in notice_heard, notice_heard
    operator_heard_by_caller = transcribe(caller_heard[split:])
    assert all(word in operator_heard_by_caller for word in KEYWORDS_2), operator_heard_by_caller
    operator_heard = transcribe(_read(heard(tmp_path / "operator-heard")))
    assert all(word in operator_heard for word in KEYWORDS), operator_heard


async def _call_with_operator(
    tmp_path: Path,
    start_line: LineFactory,
    test_speech: Speech,
    operator_xml: str,
    *,
    talk_ms: int,
    ring_seconds: float = 10,
) -> tuple[SippRun, SippRun, Line]:
    port = free_port()
    operator = asyncio.create_task(
        run_sipp(tmp_path, operator_xml, "", server=True, port=port, sipp_timeout=40)
    )
    await asyncio.sleep(0.5)  # sipp is listening
    line = await start_line(
        operator=f"sip:desk@127.0.0.1:{port}", operator_ring_seconds=ring_seconds
    )
    pcap = speech_pcap(test_speech.report, tmp_path / "report.pcap", "PCMU")
    caller = await run_sipp(
        tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target, sipp_timeout=40
    )
    await line.facts.ended()
    return caller, await operator, line


@pytest.mark.parametrize(
    ("operator_xml", "result"),
    [
        # It rings until the line gives up: CANCEL, 487, ACK, all checked by sipp.
        (operator_ringing_scenario(), "no answer in 2 s"),
        (operator_busy_scenario(), "refused 486"),
    ],
    ids=["no-answer", "busy"],
)
async def test_without_an_operator_the_caller_is_still_recorded(
    tmp_path: Path,
    start_line: LineFactory,
    test_speech: Speech,
    transcribe,
    operator_xml: str,
    result: str,
) -> None:
    notice = test_speech.seconds(default_notice("en"))
    caller, operator, line = await _call_with_operator(
        tmp_path,
        start_line,
        test_speech,
        operator_xml,
        talk_ms=int((notice + 4) * 1000),
        ring_seconds=2,
    )
    assert caller.returncode == 0, caller.output[-2000:]
    assert operator.returncode == 0, operator.output[-2000:]
    (finished,) = line.facts.of(RecordingFinished)
    assert finished.details["operator_result"] == result, finished.details
    (ended,) = line.facts.of(CallEnded)
    assert ended.cause == "caller hung up"
    caller_audio, _ = read_recording(finished.path)
    said = transcribe(caller_audio)
    assert all(word in said for word in KEYWORDS), said


async def test_when_the_operator_hangs_up_the_caller_is_hung_up(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    pcap = speech_pcap(test_speech.report_2, tmp_path / "operator.pcap", "PCMA")
    _, operator, line = await _call_with_operator(
        tmp_path,
        start_line,
        test_speech,
        operator_hangs_up_scenario(
            pcap, "PCMA", int(test_speech.seconds(test_speech.report_2) * 1000) + 500
        ),
        talk_ms=60_000,
    )
    assert operator.returncode == 0, operator.output[-2000:]
    (ended,) = line.facts.of(CallEnded)
    assert ended.cause == "operator hung up"
    (finished,) = line.facts.of(RecordingFinished)
    assert finished.details["operator_result"] == "answered"
    _, sent = read_recording(finished.path)
    split = int(float(finished.details["operator_answered_after"]) * 8000)
    said = transcribe(sent[split:])
    assert all(word in said for word in KEYWORDS_2), said
    assert finished.expected_duration < 40  # ended by the operator, not by the caller
