"""The built-in SIP line inside ``hotline serve``, called by real SIP peers: each
answered call ends as a sealed draft case whose transcript has the caller's words."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import hotline_command
from tests.e2e.conftest import free_port, query
from tests.support import speech
from tests.support.sip_pcap import speech_pcap
from tests.support.sip_peers import CALLER, HOTLINE, call_scenario, run_baresip, run_sipp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

REPORT = "I want to report false statistics at the cement factory near the river."
KEYWORDS = ("report", "statistics", "river")


async def _serve(
    env: dict[str, str], sip: str | None = None
) -> tuple[asyncio.subprocess.Process, str]:
    sip = sip or f"127.0.0.1:{free_port()}"
    env.update(
        {
            "HOTLINE_SIP": sip,
            "HOTLINE_HTTP": f"127.0.0.1:{free_port()}",
            "HOTLINE_SIP_RTP_PORTS": "30000-30999",
            "HOTLINE_LANGUAGE": "en",
            "HOTLINE_SIP_NOTICE": str(
                Path(__file__).parents[2]
                / "dialplan"
                / "sounds"
                / "hotline-recording-notice-en.wav"
            ),
        }
    )
    proc = await asyncio.create_subprocess_exec(
        hotline_command(), "serve", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    async with asyncio.timeout(60):
        while b"call source sip started" not in await proc.stderr.readline():
            assert proc.returncode is None
    return proc, sip


async def _case_with_transcript(data: Path) -> tuple[tuple[object, ...], str]:
    async with asyncio.timeout(120):
        while True:
            rows = query(
                data,
                "SELECT r.duration, r.expected_duration, r.channels, r.codec, c.status, "
                "r.stored_path FROM recordings r JOIN cases c ON c.call_id = r.call_id",
            )
            text = query(data, "SELECT text FROM transcripts")
            if rows and text:
                return rows[0], text[0][0].lower()
            await asyncio.sleep(0.3)


async def _rows(data: Path, sql: str, count: int) -> list[tuple[object, ...]]:
    async with asyncio.timeout(60):
        while True:
            rows = query(data, sql)
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.3)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_sipp_calls_become_draft_cases(
    cli_env: dict[str, str], tmp_path: Path, codec: str
) -> None:
    wav = speech.phone_speech(REPORT, tmp_path / "report.wav")
    pcap = speech_pcap(wav, tmp_path / "report.pcap", codec)
    with wave.open(str(wav)) as w:
        talk_ms = int(w.getnframes() / w.getframerate() * 1000) + 1500
    proc, sip = await _serve(cli_env)
    try:
        run = await run_sipp(tmp_path, call_scenario(pcap, codec, talk_ms), sip)
        assert run.returncode == 0, run.output[-2000:]
        (
            (duration, expected, channels, rec_codec, status, stored),
            text,
        ) = await _case_with_transcript(Path(cli_env["HOTLINE_DATA_DIR"]))
    finally:
        await _stop(proc)
    assert status == "draft" and channels == 2 and rec_codec == "pcm_s16le"
    span = run.span(r"SIP/2.0 200", r"BYE ")
    assert abs(duration - span) < 0.1 + run.clock_step  # type: ignore[operator]
    assert abs(duration - expected) < 0.1  # type: ignore[operator]
    for word in KEYWORDS:
        assert word in text, text
    # The notice we played is in the sealed evidence: channel 2 holds it from the start.
    sealed = Path(cli_env["HOTLINE_DATA_DIR"]) / "evidence" / str(stored)
    with wave.open(str(sealed)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    notice = frames[: 8000 * 5, 1].astype(np.float64)
    assert np.sqrt(np.mean(notice**2)) > 300  # speech, not silence
    assert "recorded" in text


async def test_a_call_id_used_again_is_another_call_with_its_own_case(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A phone that uses a Call-ID again after the call ended (a restarted softphone, a
    gateway counting from one) makes a second call: its recording is its own evidence,
    in its own case with its own caller, not one more recording of the first call."""
    wav = speech.phone_speech("I want to report a problem.", tmp_path / "short.wav")
    pcap = speech_pcap(wav, tmp_path / "short.pcap", "PCMU")
    data = Path(cli_env["HOTLINE_DATA_DIR"])
    reused = ("-cid_str", "reused-call-id@127.0.0.1")
    proc, sip = await _serve(cli_env)
    try:
        for _ in range(2):
            run = await run_sipp(tmp_path, call_scenario(pcap, "PCMU", 2500), sip, extra=reused)
            assert run.returncode == 0, run.output[-2000:]
        await _rows(data, "SELECT id FROM recordings", 2)
    finally:
        await _stop(proc)
    calls = query(data, "SELECT id, external_id, state FROM calls ORDER BY id")
    assert len(calls) == 2 and all(state == "ended" for _id, _ext, state in calls)
    assert all(ext.startswith("reused-call-id@127.0.0.1~") for _id, ext, _s in calls)
    rows = query(
        data,
        "SELECT r.call_id, c.id FROM recordings r JOIN cases c ON c.call_id = r.call_id "
        "ORDER BY r.id",
    )
    assert [call for call, _case in rows] == [calls[0][0], calls[1][0]]
    assert len({case for _call, case in rows}) == 2
    started = query(data, "SELECT subject FROM audit_events WHERE action = 'call.started'")
    assert sorted(subject for (subject,) in started) == [f"call:{c[0]}" for c in calls]


async def test_baresip_call_becomes_a_draft_case(cli_env: dict[str, str], tmp_path: Path) -> None:
    wav = speech.phone_speech(REPORT, tmp_path / "report.wav")
    proc, sip = await _serve(cli_env)
    try:
        output = await run_baresip(tmp_path, wav, f"sip:{HOTLINE}@{sip}", codec="PCMU")
        assert "Call established" in output, output[-2000:]
        (duration, expected, channels, _, status, _), text = await _case_with_transcript(
            Path(cli_env["HOTLINE_DATA_DIR"])
        )
    finally:
        await _stop(proc)
    assert status == "draft" and channels == 2
    assert abs(duration - expected) < 0.1  # type: ignore[operator]
    for word in KEYWORDS:
        assert word in text, text


async def test_a_serve_killed_mid_call_still_ends_in_a_case(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """``kill -9`` during a call: the restarted service finishes the recording as far as
    it reached the disk, seals it into the call's case, and says what is missing."""
    wav = speech.phone_speech(REPORT, tmp_path / "report.wav")
    pcap = speech_pcap(wav, tmp_path / "report.pcap", "PCMU")
    data = Path(cli_env["HOTLINE_DATA_DIR"])
    spool = data / "spool" / "sip"
    proc, sip = await _serve(cli_env)
    caller = asyncio.create_task(
        run_sipp(tmp_path, call_scenario(pcap, "PCMU", 15_000), sip, sipp_timeout=30)
    )
    try:
        async with asyncio.timeout(30):
            while True:  # a file has no event to wait on
                parts = list(spool.glob(".*.wav.part"))
                if parts and parts[0].stat().st_size > 44 + 4 * 8000 * 3:
                    break
                await asyncio.sleep(0.1)
        proc.kill()
        await proc.wait()
        on_disk = (parts[0].stat().st_size - 44) // 4 / 8000
        proc, _ = await _serve(cli_env, sip)  # the caller's BYE now meets a new process
        async with asyncio.timeout(60):
            while not (rows := query(data, "SELECT duration, stored_path FROM recordings")):  # noqa: ASYNC110
                await asyncio.sleep(0.2)  # rows have no event to wait on
        verify = await asyncio.create_subprocess_exec(
            hotline_command(), "verify", env=cli_env, stdout=asyncio.subprocess.DEVNULL
        )
        assert await verify.wait() == 0
    finally:
        await _stop(proc)
        await caller
    ((duration, stored),) = rows
    assert abs(duration - on_disk) < 0.001
    assert query(data, "SELECT caller_raw, source, state FROM calls") == [(CALLER, "sip", "ended")]
    incidents = query(data, "SELECT kind, case_id, detail FROM incidents")
    assert [(kind, case_id is not None) for kind, case_id, _ in incidents] == [
        ("recording.incomplete", True)
    ], incidents
    assert "the line stopped during the call" in incidents[0][2]
    assert [p.name for p in spool.iterdir() if p.name.startswith(".")] == []
    with wave.open(str(data / "evidence" / str(stored))) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.sqrt(np.mean(frames[: 8000 * 2, 1].astype(np.float64) ** 2)) > 300  # the notice


WINDOW = 1.5
"""What README promises a kill or a power cut loses at most: the last half-second block
and the second held back for late packets."""


def _trace(path: Path) -> tuple[list[float], list[float]]:
    """From ``strace -ttt -y``: times of the writes to partial recordings, of syncfs."""
    writes, syncs = [], []
    for line in path.read_text(errors="replace").splitlines():
        fields = line.split(None, 2)
        if len(fields) < 3 or "resumed>" in line:
            continue
        at, call = float(fields[1]), fields[2]
        if call.startswith("write(") and ".wav.part>" in call.split(",", 1)[0]:
            writes.append(at)
        elif call.startswith("syncfs("):
            syncs.append(at)
    return writes, syncs


async def test_a_kill_loses_at_most_the_stated_window_and_each_block_is_synced(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """``kill -9`` mid-call: what reached the recording on disk against the audio sent
    since the answer, and, traced, a ``syncfs`` of the recordings after every block."""
    wav = speech.phone_speech(REPORT, tmp_path / "report.wav")
    pcap = speech_pcap(wav, tmp_path / "report.pcap", "PCMU")
    spool = Path(cli_env["HOTLINE_DATA_DIR"]) / "spool" / "sip"
    proc, sip = await _serve(cli_env)
    caller = asyncio.create_task(
        run_sipp(tmp_path, call_scenario(pcap, "PCMU", 15_000), sip, sipp_timeout=30)
    )
    trace = tmp_path / "strace.txt"
    try:
        async with asyncio.timeout(30):
            while not (parts := list(spool.glob(".*.wav.part"))):  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # a file has no event to wait on
        answered = time.time()
        tracer = await asyncio.create_subprocess_exec(
            "strace", "-f", "-qq", "-ttt", "-y", "-e", "trace=write,syncfs",
            "-o", str(trace), "-p", str(proc.pid),
        )  # fmt: skip
        await asyncio.sleep(5.0)  # the call goes on: blocks are written and synced
        killed = time.time()
        proc.kill()
        await proc.wait()
        await asyncio.wait_for(tracer.wait(), 10)
        on_disk = (parts[0].stat().st_size - 44) // 4 / 8000
    finally:
        caller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await caller
    sent = killed - answered  # seconds of audio the line had received, at most
    assert sent - WINDOW - 0.3 <= on_disk <= sent + 0.05, (sent, on_disk)
    writes, syncs = _trace(trace)
    blocks = [at for at in writes if at < killed - 0.5]
    assert len(blocks) >= 6, writes
    for at in blocks:  # the next sync pass starts within a pass interval or two
        assert any(at <= s <= at + 0.3 for s in syncs), (at, syncs)
