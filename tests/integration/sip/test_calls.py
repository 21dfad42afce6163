"""Calls from sipp with G.711 speech: recorded from answer to hangup, caller on channel 1,
the notice on channel 2, duration matching the call, facts in order."""

from __future__ import annotations

import asyncio
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.calls import CallAnswered, CallEnded, CallStarted, RecordingFinished, RecordingStarted
from hotline.cases import notice_json
from hotline.sip.config import default_notice
from tests.integration.sip.conftest import (
    KEYWORDS,
    KEYWORDS_2,
    LineFactory,
    Speech,
    find_exact,
    read_recording,
)
from tests.support.prerequisites import missing
from tests.support.sip_pcap import speech_pcap
from tests.support.sip_peers import (
    CALLER,
    HOTLINE,
    call_scenario,
    callee_hangs_up_scenario,
    cancel_scenario,
    hold_scenario,
    offerless_scenario,
    run_sipp,
    session_timer_scenario,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_a_caller_who_hangs_up_during_the_notice_shows_it_cut_short(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    """Two seconds of speech and a hangup, inside the five-second notice: the recording
    says how much of the notice was played, and the case's JSON says it was cut short."""
    line = await start_line()
    pcap = speech_pcap(test_speech.short, tmp_path / "short.pcap", "PCMU")
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 300
    run = await run_sipp(tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["notice_played"].startswith("partial (")
    assert "notice_played_seconds" in finished.details  # seconds of its own, not frames
    notice = notice_json(dict(finished.details))
    assert notice is not None and notice["state"] == "cut_short", notice
    with wave.open(str(default_notice("en"))) as w:  # the line's notice in these tests
        whole = w.getnframes() / w.getframerate()
    assert whole <= notice["seconds"] < whole + 0.02  # in whole 20 ms frames
    caller, sent = read_recording(finished.path)
    duration = len(caller) / 8000
    assert 1.5 < duration < notice["seconds"] - 1.0
    # Played until the hangup, and the recording holds what was played.
    assert abs(notice["heard_seconds"] - duration) < 0.3, (notice, duration)
    played = sent[: int(notice["heard_seconds"] * 8000)].astype(np.float64)
    assert np.sqrt(np.mean(played**2)) > 300


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_call_is_recorded_in_full_with_the_notice(
    codec: str, tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    line = await start_line()
    pcap = speech_pcap(test_speech.report, tmp_path / "report.pcap", codec)
    talk_ms = int(test_speech.seconds(test_speech.report) * 1000) + 1500

    run = await run_sipp(tmp_path, call_scenario(pcap, codec, talk_ms), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()

    kinds = [type(f) for f in line.facts.items]
    assert kinds == [CallStarted, CallAnswered, RecordingStarted, RecordingFinished, CallEnded]
    started = line.facts.of(CallStarted)[0]
    assert (started.source, started.caller, started.callee) == ("sip", CALLER, HOTLINE)
    finished = line.facts.of(RecordingFinished)[0]
    ended = line.facts.of(CallEnded)[0]
    assert ended.answered and ended.cause == "caller hung up"
    assert finished.details["codec"] == codec
    assert finished.details["packets_lost"] == "0"
    assert finished.details["notice_played"] == "complete"
    assert int(finished.details["packets_received"]) >= talk_ms // 20 - 100

    caller, sent = read_recording(finished.path)
    duration = len(caller) / 8000
    assert abs(duration - finished.expected_duration) < 0.1
    # The call as sipp saw it: from the 200 OK it received to the BYE it sent.
    assert abs(duration - run.span(r"SIP/2.0 200", r"BYE ")) < 0.1 + run.clock_step

    # Lossless: the caller's G.711 speech is in channel 1 sample for sample.
    assert find_exact(caller, test_speech.report, codec) >= 0
    said = transcribe(caller)
    assert all(word in said for word in KEYWORDS), said
    notice = transcribe(sent)
    assert "recorded" in notice, notice
    assert not list(line.recordings.glob(".*.part"))


async def test_hold_and_resume_keeps_recording(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    # A silence timeout shorter than the hold: a held call must not be hung up.
    line = await start_line(rtp_silence_timeout=1.5)
    first = speech_pcap(test_speech.report, tmp_path / "one.pcap", "PCMU")
    second = speech_pcap(test_speech.report_2, tmp_path / "two.pcap", "PCMU")
    talk_ms = tuple(
        int(test_speech.seconds(p) * 1000) + 600 for p in (test_speech.report, test_speech.report_2)
    )

    run = await run_sipp(tmp_path, hold_scenario(first, second, "PCMU", talk_ms, 2500), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()

    finished = line.facts.of(RecordingFinished)[0]
    assert line.facts.of(CallEnded)[0].cause == "caller hung up"
    assert finished.details["packets_lost"] == "0"
    assert finished.details["notice_played"] == "complete"
    caller, _ = read_recording(finished.path)
    assert abs(len(caller) / 8000 - run.span(r"SIP/2.0 200", r"BYE ")) < 0.1 + run.clock_step
    assert abs(len(caller) / 8000 - finished.expected_duration) < 0.1
    one = find_exact(caller, test_speech.report, "PCMU")
    two = find_exact(caller, test_speech.report_2, "PCMU")
    assert 0 <= one < two, (one, two)
    # The second utterance sits after the hold, where the wall clock puts it.
    assert (two - one) / 8000 > 2.5
    for offset, source, words in (
        (one, test_speech.report, KEYWORDS),
        (two, test_speech.report_2, KEYWORDS_2),
    ):
        said = transcribe(caller[offset : offset + int(test_speech.seconds(source) * 8000)])
        assert all(word in said for word in words), said


async def test_cancel_while_ringing_records_nothing(
    tmp_path: Path, start_line: LineFactory
) -> None:
    line = await start_line(ring_seconds=5)
    run = await run_sipp(tmp_path, cancel_scenario(300), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    assert [type(f) for f in line.facts.items] == [CallStarted, CallEnded]
    ended = line.facts.of(CallEnded)[0]
    assert not ended.answered and ended.cause == "caller cancelled"
    assert not list(line.recordings.iterdir())


async def test_tcp_call(tmp_path: Path, start_line: LineFactory, test_speech: Speech) -> None:
    line = await start_line()
    pcap = speech_pcap(test_speech.short, tmp_path / "report.pcap", "PCMA")
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 500
    run = await run_sipp(
        tmp_path, call_scenario(pcap, "PCMA", talk_ms), line.target, transport="t1"
    )
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["transport"] == "tcp"
    caller, _ = read_recording(finished.path)
    assert find_exact(caller, test_speech.short, "PCMA") >= 0


async def test_offerless_invite_gets_our_offer(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line()
    pcap = speech_pcap(test_speech.short, tmp_path / "report.pcap", "PCMA")
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 500
    run = await run_sipp(tmp_path, offerless_scenario(pcap, talk_ms), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["codec"] == "PCMA"
    caller, _ = read_recording(finished.path)
    assert find_exact(caller, test_speech.short, "PCMA") >= 0


async def test_lost_packets_are_counted_and_kept_as_silence(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line()
    dropped = {20, 21, 22, 60}
    pcap = speech_pcap(test_speech.short, tmp_path / "lossy.pcap", "PCMU", drop=dropped)
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 500
    run = await run_sipp(tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["packets_lost"] == str(len(dropped))
    caller, _ = read_recording(finished.path)
    assert abs(len(caller) / 8000 - finished.expected_duration) < 0.1
    # Everything else sample for sample, and silence exactly where the lost packets were.
    assert find_exact(caller, test_speech.short, "PCMU", lost=dropped) >= 0


@pytest.mark.parametrize(
    ("settings", "cause"),
    [
        ({"rtp_silence_timeout": 1.0}, "no RTP for 1 s"),
        ({"max_call_seconds": 1.5}, "maximum call length 1.5 s"),
    ],
)
async def test_the_line_hangs_up(
    settings: dict, cause: str, tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line(**settings)
    pcap = (
        None
        if "rtp_silence_timeout" in settings
        else speech_pcap(test_speech.report, tmp_path / "r.pcap", "PCMU")
    )
    run = await run_sipp(tmp_path, callee_hangs_up_scenario(pcap, "PCMU"), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    ended = line.facts.of(CallEnded)[0]
    assert ended.answered and ended.cause == cause
    finished = line.facts.of(RecordingFinished)[0]
    caller, _ = read_recording(finished.path)
    limit = settings.get("max_call_seconds") or settings["rtp_silence_timeout"]
    assert limit <= len(caller) / 8000 < limit + 1.0  # checked every 0.25 s


async def test_stop_ends_live_calls_cleanly(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line()
    pcap = speech_pcap(test_speech.report, tmp_path / "r.pcap", "PCMU")
    sipp = asyncio.create_task(
        run_sipp(tmp_path, callee_hangs_up_scenario(pcap, "PCMU"), line.target)
    )
    await line.facts.wait_for(RecordingStarted)
    await asyncio.sleep(1.0)
    await asyncio.wait_for(line.line.stop(), 10)
    kinds = [type(f) for f in line.facts.items]
    assert kinds == [CallStarted, CallAnswered, RecordingStarted, RecordingFinished, CallEnded]
    assert line.facts.of(CallEnded)[0].cause == "service stopping"
    run = await sipp
    assert run.returncode == 0, run.output[-3000:]
    await line.line.stop()  # idempotent


async def test_sipps_own_pcap_scenario_with_dtmf(tmp_path: Path, start_line: LineFactory) -> None:
    """sipp's built-in ``uac_pcap``: its shipped G.711 A-law call audio, then an RFC 4733
    (2833) DTMF "1", from the pcaps Debian installs with it."""
    shipped = Path("/usr/share/sip-tester")
    if not (shipped / "g711a.pcap").exists():
        missing("sip-tester's pcaps (/usr/share/sip-tester, Debian package sip-tester)")
    shutil.copytree(shipped, tmp_path / "pcap")  # the scenario plays pcap/g711a.pcap
    line = await start_line()
    run = await run_sipp(tmp_path, "builtin:uac_pcap", line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["codec"] == "PCMA" and finished.details["packets_lost"] == "0"
    assert finished.details["dtmf"] == "1"
    caller, _ = read_recording(finished.path)
    assert caller.any() and abs(len(caller) / 8000 - finished.expected_duration) < 0.1


async def test_a_session_timer_nobody_refreshes_ends_the_call_on_hold_too(
    tmp_path: Path, start_line: LineFactory
) -> None:
    """RFC 4028: the caller asked for a 3 s session and refreshed it once, with the
    re-INVITE that put the call on hold (no RTP then, so the silence timeout does not
    run), and never again: the line hangs up a third of the interval before it would
    expire, and the recording is sealed as usual."""
    line = await start_line()
    run = await run_sipp(tmp_path, session_timer_scenario("PCMU", 3, 500), line.target)
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended()
    (ended,) = line.facts.of(CallEnded)
    assert ended.answered and ended.cause == "the caller stopped refreshing its 3 s session"
    (finished,) = line.facts.of(RecordingFinished)
    assert 2.0 <= finished.expected_duration <= 4.0, finished.expected_duration
