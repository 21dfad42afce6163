"""Audio in: files of every coding a PBX writes, arrays, and input that must be refused."""

from __future__ import annotations

import struct
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from transcriber.audio import SAMPLE_RATE, load_audio
from transcriber.errors import AudioError, TranscriptionError

HOUR = 3600.0


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if pcm.ndim == 1 else pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((pcm if pcm.ndim == 1 else pcm.T).tobytes())
    return path


def tone(seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_8k_is_resampled_to_16k_keeping_pitch_and_length(tmp_path: Path) -> None:
    audio = load_audio(write_wav(tmp_path / "a.wav", tone(2.0, 8000, 1000), 8000), max_seconds=HOUR)
    assert len(audio.channels) == 1 and audio.duration == pytest.approx(2.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(audio.channels[0][4000:20000]))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / 16000
    assert peak_hz == pytest.approx(1000, abs=2)
    images = spectrum[np.fft.rfftfreq(16000, 1 / SAMPLE_RATE) > 4100]
    assert images.max() < spectrum.max() * 1e-3  # no mirror image above the old Nyquist


def test_stereo_keeps_its_channels_apart(tmp_path: Path) -> None:
    left, right = tone(1.0, 8000, 500), np.zeros(8000, dtype=np.float32)
    audio = load_audio(
        write_wav(tmp_path / "s.wav", np.stack([left, right]), 8000), max_seconds=HOUR
    )
    assert len(audio.channels) == 2 and audio.channels_differ()
    assert np.abs(audio.channels[1]).max() == 0 and np.abs(audio.channels[0]).max() > 0.4


def test_mono_saved_as_stereo_is_recognised(tmp_path: Path) -> None:
    same = tone(1.0, 16000)
    audio = load_audio(
        write_wav(tmp_path / "d.wav", np.stack([same, same]), 16000), max_seconds=HOUR
    )
    assert not audio.channels_differ()


def test_arrays_are_taken_as_16k() -> None:
    audio = load_audio(tone(1.0, SAMPLE_RATE), max_seconds=HOUR)
    assert audio.duration == 1.0
    assert len(load_audio(np.zeros((16000, 2), dtype=np.float32), max_seconds=HOUR).channels) == 2
    with pytest.raises(AudioError, match="empty"):
        load_audio(np.zeros(0, dtype=np.float32), max_seconds=HOUR)
    with pytest.raises(AudioError, match="NaN"):
        load_audio(np.full(10, np.nan, dtype=np.float32), max_seconds=HOUR)
    with pytest.raises(AudioError, match="float32"):
        load_audio(np.zeros(10, dtype=np.int64), max_seconds=HOUR)


def test_not_audio_is_a_transcription_error(tmp_path: Path) -> None:
    text = tmp_path / "report.wav"
    text.write_text("this is a text file, not a recording\n" * 50)
    with pytest.raises(TranscriptionError, match="not audio"):
        load_audio(text, max_seconds=HOUR)


def test_zero_length_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        load_audio(empty, max_seconds=HOUR)
    header_only = write_wav(tmp_path / "header.wav", np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(header_only, max_seconds=HOUR)
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "missing.wav", max_seconds=HOUR)


def test_a_header_declaring_ten_hours_is_refused_at_once(tmp_path: Path) -> None:
    ten_hours = 10 * 3600 * 8000 * 2
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", ten_hours)
    path = tmp_path / "ten-hours.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + ten_hours) + body + b"\x00" * 16000)
    started = time.monotonic()
    with pytest.raises(AudioError, match=r"10\.0 h .*limit"):
        load_audio(path, max_seconds=4 * HOUR)
    assert time.monotonic() - started < 1.0


def test_a_truncated_recording_is_still_transcribable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    data = (tone(1.0, 8000) * 32767).astype("<i2").tobytes()
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data) * 60)
    )
    path = tmp_path / "cut.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data)
    audio = load_audio(path, max_seconds=HOUR)
    assert audio.duration == pytest.approx(1.0, abs=0.01)
    assert "declares 60.0 s" in caplog.text
