"""Recording checks: what a PBX writes is accepted; anything else is refused, clearly."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from hotline.errors import RecordingRejected
from hotline.evidence.audio import inspect_file
from tests.support import speech
from tests.support.fixtures import MIXMONITOR_SAMPLE

FIXTURE = MIXMONITOR_SAMPLE


def _sox(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["sox", str(src), *args, str(dst)], check=True, capture_output=True)
    return dst


def test_the_real_asterisk_recording() -> None:
    info = inspect_file(FIXTURE)
    assert (info.codec, info.sample_rate, info.channels) == ("pcm_s16le", 8000, 1)
    assert info.frames == 220_640
    assert info.duration == pytest.approx(27.58)
    assert info.content_type == "audio/wav"


@pytest.mark.parametrize(
    ("args", "codec", "rate", "channels"),
    [
        (("-r", "16000"), "pcm_s16le", 16000, 1),
        (("-c", "2"), "pcm_s16le", 8000, 2),
        (("-e", "u-law"), "pcm_mulaw", 8000, 1),
        (("-e", "a-law"), "pcm_alaw", 8000, 1),
        (("-e", "gsm-full-rate"), "gsm_ms", 8000, 1),
        (("-b", "8", "-e", "unsigned-integer"), "pcm_u8", 8000, 1),
    ],
)
def test_pbx_variants_are_accepted(
    tmp_path: Path, args: tuple[str, ...], codec: str, rate: int, channels: int
) -> None:
    out = _sox(FIXTURE, tmp_path / "v.wav", *args)
    info = inspect_file(out)
    assert (info.codec, info.sample_rate, info.channels) == (codec, rate, channels)
    assert info.duration == pytest.approx(27.58, abs=0.05)


def test_raw_gsm(tmp_path: Path) -> None:
    out = _sox(FIXTURE, tmp_path / "call.gsm")
    info = inspect_file(out)
    assert (info.container, info.codec) == ("gsm", "gsm")
    assert info.duration == pytest.approx(27.58, abs=0.05)
    assert info.content_type == "audio/x-gsm"


def _wav_bytes(data: bytes, *, rate: int = 8000, channels: int = 1, bits: int = 16) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"hello, this is not audio\n" * 10, "not a WAV file"),
        (b"RIFF\x00\x00\x00\x00WAVE", "without a fmt chunk"),
        (b"ID3\x03\x00\x00\x00" + b"\x00" * 100, "not a WAV file"),
    ],
)
def test_non_recordings_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(RecordingRejected, match=reason):
        inspect_file(path)


def test_truncated_wav_is_refused(tmp_path: Path) -> None:
    whole = FIXTURE.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(RecordingRejected, match="truncated"):
        inspect_file(path)


def test_lying_data_size_is_refused(tmp_path: Path) -> None:
    body = _wav_bytes(b"\x00\x01" * 8000)
    # Claim ten times the audio that is there, in both the RIFF and the data header.
    lie = bytearray(body)
    lie[4:8] = struct.pack("<I", len(body) + 160000)
    lie[40:44] = struct.pack("<I", 16000 * 10)
    path = tmp_path / "lie.wav"
    path.write_bytes(bytes(lie))
    with pytest.raises(RecordingRejected, match="truncated"):
        inspect_file(path)


def test_lying_format_is_refused(tmp_path: Path) -> None:
    body = bytearray(_wav_bytes(b"\x00\x01" * 8000))
    body[34:36] = struct.pack("<H", 24)  # says 24-bit, block align still 2
    path = tmp_path / "lie.wav"
    path.write_bytes(bytes(body))
    with pytest.raises(RecordingRejected, match="inconsistent header"):
        inspect_file(path)


def test_half_sample_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.wav"
    path.write_bytes(_wav_bytes(b"\x00\x01\x02"))
    with pytest.raises(RecordingRejected, match="not a whole number"):
        inspect_file(path)


def test_empty_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    path.write_bytes(_wav_bytes(b""))
    with pytest.raises(RecordingRejected, match="no audio"):
        inspect_file(path)


def test_unsupported_rate_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "hi.wav"
    path.write_bytes(_wav_bytes(b"\x00\x00" * 10, rate=96000))
    with pytest.raises(RecordingRejected, match="sample rate 96000"):
        inspect_file(path)
    mp3ish = bytearray(_wav_bytes(b"\x00\x00" * 10))
    mp3ish[20:22] = struct.pack("<H", 0x55)
    path.write_bytes(bytes(mp3ish))
    with pytest.raises(RecordingRejected, match="format tag 0x0055"):
        inspect_file(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(RecordingRejected, match="no such file"):
        inspect_file(tmp_path / "nope.wav")
    with pytest.raises(RecordingRejected, match="is a directory"):
        inspect_file(tmp_path)


def test_espeak_speech_at_telephone_rate(tmp_path: Path) -> None:
    wav = speech.phone_speech("testing one two three", tmp_path / "s.wav", encoding="u-law")
    info = inspect_file(wav)
    assert info.codec == "pcm_mulaw" and info.sample_rate == 8000
    assert 0.5 < info.duration < 5
