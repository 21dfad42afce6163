"""``AsteriskSource`` against the AMI simulator replaying real Asterisk sessions, over
TCP on 127.0.0.1, up to the call facts."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from hotline.ami import AMIConfig, AsteriskSource, LinkState
from hotline.ami.recordings import WavHeader
from hotline.calls import (
    CallEnded,
    CallStarted,
    Incident,
    IncidentKind,
    RecordingFinished,
    RecordingStarted,
)
from tests.integration.ami.conftest import Collector, eventually
from tests.support.ami_captures import PBX_MONITOR, wav_bytes
from tests.support.ami_simulator import AMISimulator

SPEED = 12.0
SLOW = 5.0  # for sub-second guard timings: scheduling jitter is multiplied by the speed
TIMED = 2.0
"""For a span asserted to within a second: a stall of the process (a loaded, shared
machine: 0.44 s seen once) is multiplied by the replay speed; at 2 it stays inside."""
ANSWERED = "hotline-20261128-001159-1795824714.0.wav"
TOLERANCE = 2.0  # the intake's default recording_tolerance_seconds


def config(sim: AMISimulator, recordings: Path, **changes: object) -> AMIConfig:
    settings: dict[str, object] = {
        "recordings_dir": recordings,
        "pbx_recordings_dir": PBX_MONITOR,  # the simulated PBX's name for ``recordings``
        # The lab dialplan starts MixMonitor 5.25 s after answer. At 12-15x speed an 8 s
        # grace left under 0.2 s of wall time, and a loaded machine let hotline step in
        # with its own recording; tests of the guard set their own grace.
        "mixmonitor_grace": 30.0,
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "file_poll_interval": 0.02,
        "file_stable_for": 0.1,
        "file_close_timeout": 5.0,
        "orphan_min_age": 60.0,
        **changes,
    }
    return AMIConfig.from_url(sim.url(), **settings)  # type: ignore[arg-type]


def late_start(fact: object) -> bool:
    """The incident of a recording that began after answer (the notice not in it)."""
    return (
        isinstance(fact, Incident)
        and fact.kind is IncidentKind.INCOMPLETE
        and "recording notice are not in the evidence" in fact.detail
    )


def wav_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.wav"))


def wav_seconds(path: Path) -> float:
    data = path.read_bytes()
    header = WavHeader.parse(data[:4096])
    assert header is not None and header.finalised(len(data))
    return header.duration(len(data))


async def test_answered_call_ends_in_a_closed_recording(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(60),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=TIMED) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=TIMED) as source,
    ):
        (finished,) = await collector.wait_for(RecordingFinished)
        await collector.wait_for(Incident)
        assert source.status.link.state is LinkState.CONNECTED
        assert source.status.calls_tracked == 0
    kinds = [type(f).__name__ for f in collector.facts]
    assert kinds == [
        "CallStarted",
        "CallAnswered",
        "RecordingStarted",
        "CallEnded",
        "RecordingFinished",
        "Incident",  # the lab dialplan plays the notice before MixMonitor
    ]
    assert late_start(collector.facts[-1])
    (started,) = collector.of(CallStarted)
    assert (started.call_id, started.caller, started.callee) == ("1795824714.0", "caller", "12345")
    assert finished.path == tmp_path / ANSWERED
    assert wav_seconds(finished.path) == pytest.approx(27.58)
    assert (
        finished.path.read_bytes()
        == (
            Path(__file__).parents[2] / "fixtures/audio/asterisk-mixmonitor-sample.wav"
        ).read_bytes()
    )
    # The span from MixMonitorStart to Hangup (27.9 s), within replay jitter.
    assert finished.expected_duration == pytest.approx(27.9, abs=1.0)
    assert finished.expected_duration - 27.58 < TOLERANCE  # complete
    assert finished.details["wav_header"] == "final" and finished.details["basis"] == "events"
    assert float(finished.details["late_start_seconds"]) == pytest.approx(5.25, abs=1.0)


async def test_abandoned_during_the_notice_is_unrecorded(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("abandoned-during-notice", recordings_dir=tmp_path, speed=SPEED) as sim,
    ):
        cfg = config(sim, tmp_path, mixmonitor_grace=3.0)
        async with AsteriskSource(cfg, collector, time_scale=SPEED):
            (incident,) = await collector.wait_for(Incident)
            await collector.wait_for(CallEnded)
    assert incident.kind is IncidentKind.UNRECORDED and incident.call_id == "1795824753.2"
    assert "no recording" in incident.detail
    assert not collector.of(RecordingFinished)
    assert not wav_files(tmp_path)


async def test_failed_mixmonitor_raises_unrecorded_at_once(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator(
            "abandoned-during-notice", recordings_dir=tmp_path, speed=SLOW, mixmonitor="fail"
        ) as sim,
    ):
        cfg = config(sim, tmp_path, mixmonitor_grace=1.0)
        async with AsteriskSource(cfg, collector, time_scale=SLOW):
            (incident,) = await collector.wait_for(Incident)
            (ended,) = await collector.wait_for(CallEnded)
    # At once: raised while the caller was still listening, not at the hangup (the
    # order of the facts, not the moment this task woke: on a loaded machine both may
    # have arrived by then).
    assert collector.facts.index(incident) < collector.facts.index(ended)
    # The caller hung up about 1.5 s (at this speed) after MixMonitor failed.
    assert (ended.at - incident.at).total_seconds() > 0.75
    assert incident.kind is IncidentKind.UNRECORDED
    assert incident.detail == "starting MixMonitor failed: Could not start monitoring channel"
    assert [a.action_name for a in sim.actions].count("MixMonitor") == 1


async def test_hotline_records_a_call_the_dialplan_does_not(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("abandoned-during-notice", recordings_dir=tmp_path, speed=SLOW) as sim,
    ):
        cfg = config(sim, tmp_path, mixmonitor_grace=1.0)
        async with AsteriskSource(cfg, collector, time_scale=SLOW):
            finished = await collector.wait_for(RecordingFinished, count=3)
            (late,) = await collector.wait_for(Incident)
    # The call's first second is not in the recording, nor the notice: said once.
    assert late_start(late) and "hotline started MixMonitor" in late.detail
    assert collector.facts.index(late) > collector.facts.index(finished[0])
    assert {r.leg for r in collector.of(RecordingStarted)} == {"mix", "caller", "operator"}
    (mix,) = [f for f in finished if f.leg == "mix"]
    assert mix.path.name.endswith("-1795824753.2-h1.wav")
    # Started 1 s after answer, stopped at the hangup 2.5 s after answer.
    assert mix.expected_duration == pytest.approx(1.5, abs=0.6)
    assert abs(wav_seconds(mix.path) - mix.expected_duration) < TOLERANCE


async def test_no_answer_fallback(tmp_path: Path, collector: Collector) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("operator-noanswer-record", recordings_dir=tmp_path, speed=15) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=15),
    ):
        finished = await collector.wait_for(RecordingFinished, count=2)
    legs = {f.leg: f for f in finished}
    assert wav_seconds(legs["mix"].path) == pytest.approx(41.58)
    assert legs["mix"].expected_duration == pytest.approx(41.9, abs=1.0)
    assert wav_seconds(legs["message"].path) == pytest.approx(20.5)
    assert legs["mix"].details["dial_status"] == "NOANSWER"


async def test_a_short_file_is_shorter_than_expected(tmp_path: Path, collector: Collector) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator(
            "answered-call", recordings_dir=tmp_path, speed=SPEED, durations={ANSWERED: 10.0}
        ) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED),
    ):
        (finished,) = await collector.wait_for(RecordingFinished)
    assert wav_seconds(finished.path) == pytest.approx(10.0)
    assert finished.details["wav_seconds"] == "10.000"
    assert finished.expected_duration is not None
    assert finished.expected_duration - 10.0 > TOLERANCE  # → recording.incomplete


async def test_the_file_is_taken_only_once_closed(tmp_path: Path, collector: Collector) -> None:
    """Asterisk closes the WAV after the Hangup event here (nothing orders them)."""
    async with (
        asyncio.timeout(30),
        AMISimulator(
            "answered-call", recordings_dir=tmp_path, speed=SPEED, close_delay=10.0
        ) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED),
    ):
        await collector.wait_for(CallEnded)
        ended = time.monotonic()
        (finished,) = await collector.wait_for(RecordingFinished)
    assert time.monotonic() - ended >= 10.0 / SPEED * 0.9
    assert finished.details["wav_header"] == "final"
    assert wav_seconds(finished.path) == pytest.approx(27.58)


async def test_a_dropped_connection_mid_call_still_ends_in_one_recording(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED) as source,
    ):
        await sim.wait_until(12.0)
        sim.drop()
        await collector.wait_for(Incident)  # source.down
        (finished,) = await collector.wait_for(RecordingFinished)
        await collector.wait_for(Incident, late_start)
        assert source.status.link.connects == 2
    down, late = collector.of(Incident)
    assert down.kind is IncidentKind.SOURCE_DOWN and late_start(late)
    assert len(collector.of(CallStarted)) == 1 and len(collector.of(CallEnded)) == 1
    assert finished.path.name == ANSWERED and wav_seconds(finished.path) == pytest.approx(27.58)
    assert finished.expected_duration == pytest.approx(27.9, abs=1.0)
    assert [a.action_name for a in sim.actions].count("Status") == 2  # adopted twice


async def test_a_call_that_ends_while_the_link_is_down(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED),
    ):
        await sim.wait_until(30.0)
        await sim.stop_listening()
        sim.drop()
        await sim.wait_until(36.0)  # the caller hangs up at 34.05, unseen
        await sim.resume_listening()
        (finished,) = await collector.wait_for(RecordingFinished)
    (ended,) = collector.of(CallEnded)
    assert ended.cause == "ended while the PBX link was down"
    assert finished.path.name == ANSWERED and finished.expected_duration is None
    assert finished.details["ended_while_disconnected"] == "yes"


async def test_a_restart_mid_call_still_ends_in_one_recording(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
    ):
        cfg = config(sim, tmp_path, seen_ledger=tmp_path / "state" / "seen")
        first = AsteriskSource(cfg, collector, time_scale=SPEED)
        await first.start()
        await collector.wait_for(RecordingStarted)
        await sim.wait_until(12.0)
        await first.stop()
        before = len(collector.facts)
        async with AsteriskSource(cfg, collector, time_scale=SPEED):
            (finished,) = await collector.wait_for(RecordingFinished)
            await collector.wait_for(Incident)
    after = collector.facts[before:]
    assert [type(f).__name__ for f in after] == [
        "CallStarted",
        "CallAnswered",
        "RecordingStarted",
        "CallEnded",
        "RecordingFinished",
        "Incident",
    ]
    assert {f.call_id for f in after} == {"1795824714.0"}  # type: ignore[union-attr]
    assert finished.details["origin"] == "adopted" and finished.details["basis"] == "cdr"
    # Cdr: answered 00:11:54, ended 00:12:27; the file name says recording began 00:11:59.
    assert finished.expected_duration == pytest.approx(28.0)
    assert wav_seconds(finished.path) == pytest.approx(27.58)
    (late,) = collector.of(Incident)  # begun 5 s after answer (whole seconds of names, Cdr)
    assert late_start(late) and "5.00 s after answer" in late.detail


async def test_orphaned_recording_is_found_at_start(tmp_path: Path, collector: Collector) -> None:
    orphan = tmp_path / "hotline-20261128-001245-1795824760.3.wav"
    orphan.write_bytes(wav_bytes(4.76))
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    ledger = tmp_path / "seen"
    async with (
        asyncio.timeout(30),
        AMISimulator("actions", recordings_dir=tmp_path, speed=SPEED) as sim,
    ):
        cfg = config(sim, tmp_path, seen_ledger=ledger)
        async with AsteriskSource(cfg, collector, time_scale=SPEED):
            (finished,) = await collector.wait_for(RecordingFinished)
            # The ledger is written after the sink returns.
            await eventually(lambda: f"\t{orphan.name}\n" in _text(ledger))
        (incident,) = collector.of(Incident)
        assert incident.kind is IncidentKind.ORPHANED and incident.call_id == "1795824760.3"
        assert finished.call_id == "1795824760.3" and finished.path == orphan
        assert finished.details["origin"] == "orphan" and finished.expected_duration is None
        # A second start does not offer it again, but offers a new orphan found in the
        # same scan of the directory.
        newer = tmp_path / "hotline-20261128-001300-1795824770.1.wav"
        newer.write_bytes(wav_bytes(2.0))
        os.utime(newer, (old, old))
        again = Collector()
        async with AsteriskSource(cfg, again, time_scale=SPEED):
            (found,) = await again.wait_for(RecordingFinished)
        assert found.path == newer
        assert {getattr(f, "call_id", None) for f in again.facts} == {"1795824770.1"}


async def test_garbage_from_the_server_does_not_stop_the_source(
    tmp_path: Path, collector: Collector
) -> None:
    async with (
        asyncio.timeout(30),
        AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
        AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED) as source,
    ):
        await sim.wait_until(10.0)
        sim.send_raw(b"\x00\xff\xfe garbage without colon\r\n\r\n")
        sim.send_raw(b"Foo: not an event\r\n\r\n" + os.urandom(3000) + b"\r\n\r\n")
        sim.send_raw(b"Event: Hangup\r\nUniqueid: no-such-channel\r\n\r\n")
        (finished,) = await collector.wait_for(RecordingFinished)
        assert source.status.link.bad_frames >= 2
        assert source.status.link.connects == 1
    assert wav_seconds(finished.path) == pytest.approx(27.58)


async def test_failed_login_is_reported_and_not_retried(
    tmp_path: Path, collector: Collector
) -> None:
    async with asyncio.timeout(30), AMISimulator("failed-login", speed=SPEED) as sim:
        source = AsteriskSource(config(sim, tmp_path), collector, time_scale=SPEED)
        async with source:
            (incident,) = await collector.wait_for(Incident)
            await asyncio.sleep(0.5)  # many reconnect delays (0.05-0.2 s)
            status = source.status
    assert incident.kind is IncidentKind.SOURCE_DOWN and "refused our login" in incident.detail
    assert status.link.state is LinkState.LOGIN_FAILED
    assert "Authentication failed" in status.link.last_error
    assert status.as_dict()["state"] == "login failed"
    assert sim.logins == 1 and sim.connections == 1


def _text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        return ""
