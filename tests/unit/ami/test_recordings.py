"""Recording names, PBX → local paths and WAV headers."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest

from hotline.ami.pickup import FileLedger, probe, scan, wait_closed
from hotline.ami.recordings import PathMap, RecordingName, WavHeader
from tests.support.ami_captures import sample_recording, wav_bytes

PBX = PurePosixPath("/var/spool/asterisk/monitor")


def test_path_map(tmp_path: Path) -> None:
    paths = PathMap(PBX, tmp_path)
    assert paths.to_local(f"{PBX}/hotline-1.wav") == tmp_path / "hotline-1.wav"
    assert paths.to_local(f"{PBX}/2026/11/x.wav") == tmp_path / "2026" / "11" / "x.wav"
    assert paths.to_local("relative.wav") == tmp_path / "relative.wav"  # as MixMonitor does
    assert paths.to_local(f"{PBX}/../../../etc/passwd") is None
    assert paths.to_local("/var/spool/asterisk/monitorx/a.wav") is None
    assert paths.to_local(str(PBX)) is None
    assert paths.to_local("/tmp/elsewhere.wav") is None
    assert paths.to_pbx("a.wav") == f"{PBX}/a.wav"


def test_recording_names() -> None:
    parsed = RecordingName.parse(f"{PBX}/hotline-20261128-001159-1795824714.0.wav")
    assert parsed == RecordingName(
        "1795824714.0", "mix", datetime(2026, 11, 28, 0, 11, 59, tzinfo=UTC)
    )
    legged = RecordingName.parse("hotline-20261128-001159-1795824714.0-h2-operator.wav")
    assert legged is not None and (legged.leg, legged.tag) == ("operator", "h2")
    message = RecordingName.parse("hotline-message-1795824776.5.wav")
    assert message is not None and message.leg == "message" and message.stamp is None
    system = RecordingName.parse("hotline-20261128-001159-pbx1-1795824714.0-caller.wav")
    assert system is not None and system.uniqueid == "pbx1-1795824714.0"
    assert RecordingName.parse("voicemail-1.wav") is None
    built = RecordingName.build("1795824714.0", 1795824719.0, tag="h1", leg="caller")
    assert built == "hotline-20261128-001159-1795824714.0-h1-caller.wav"
    assert RecordingName.parse(built) == RecordingName(
        "1795824714.0", "caller", datetime(2026, 11, 28, 0, 11, 59, tzinfo=UTC), "h1"
    )


def test_wav_header_of_the_real_mixmonitor_recording() -> None:
    data = sample_recording()
    header = WavHeader.parse(data[:4096])
    assert header is not None
    assert (header.sample_rate, header.channels, header.bits_per_sample) == (8000, 1, 16)
    assert header.finalised(len(data))
    assert header.duration(len(data)) == pytest.approx(27.58)


def test_wav_header_while_asterisk_still_writes() -> None:
    growing = wav_bytes(3.0, final=False)
    header = WavHeader.parse(growing)
    assert header is not None and not header.finalised(len(growing))
    assert header.duration(len(growing)) == pytest.approx(3.0)  # from the file's length
    truncated = sample_recording()[:100_000]  # header says more than the file holds
    cut = WavHeader.parse(truncated)
    assert cut is not None and not cut.finalised(len(truncated))
    assert WavHeader.parse(b"not a wav file at all") is None
    assert WavHeader.parse(b"RIFF\x00\x00\x00\x00WAVE") is None


def test_probe_and_scan(tmp_path: Path) -> None:
    (tmp_path / "hotline-20261128-001159-1795824714.0.wav").write_bytes(wav_bytes(1.0))
    (tmp_path / "hotline-fresh.wav").write_bytes(wav_bytes(1.0))
    (tmp_path / "other.wav").write_bytes(wav_bytes(1.0))
    old = time.time() - 3600
    for name in ("hotline-20261128-001159-1795824714.0.wav", "other.wav"):
        os.utime(tmp_path / name, (old, old))
    found = scan(tmp_path, "hotline-*", now=time.time(), min_age=60, max_age=86400)
    assert [(f.name, f.closed, f.duration) for f in found] == [
        ("hotline-20261128-001159-1795824714.0.wav", True, 1.0)
    ]
    assert probe(tmp_path / "missing.wav") is None


async def test_wait_closed_waits_for_the_final_header(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    path.write_bytes(wav_bytes(0.5, final=False))
    finished = asyncio.Event()

    async def finish() -> None:
        await asyncio.sleep(0.3)  # the PBX still writing, longer than stable_for
        path.write_bytes(wav_bytes(1.0))
        finished.set()

    async with asyncio.timeout(10):
        writer = asyncio.create_task(finish())
        report = await wait_closed(path, poll=0.02, stable_for=0.1, give_up_after=5)
        done_first = finished.is_set()  # as wait_closed returned, not after the writer
        await writer
    assert done_first, "wait_closed returned before the final header was written"
    assert report is not None and report.closed and report.duration == pytest.approx(1.0)


async def test_wait_closed_gives_up(tmp_path: Path) -> None:
    async with asyncio.timeout(10):
        missing = await wait_closed(
            tmp_path / "no.wav", poll=0.02, stable_for=0.1, give_up_after=0.2
        )
        (tmp_path / "open.wav").write_bytes(wav_bytes(0.5, final=False))
        unfinished = await wait_closed(
            tmp_path / "open.wav", poll=0.02, stable_for=0.1, give_up_after=0.2
        )
    assert missing is None
    assert unfinished is not None and not unfinished.closed


def test_ledger(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path / "seen")
    assert not ledger.seen("a.wav", 10)
    ledger.add("a.wav", 10)
    ledger.add("a.wav", 10)
    again = FileLedger(tmp_path / "seen")
    assert again.seen("a.wav", 10) and not again.seen("a.wav", 11)
    assert (tmp_path / "seen").read_text() == "10\ta.wav\n"
