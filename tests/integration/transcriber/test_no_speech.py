"""Silence, noise, ringback and hold music: no words at all, and quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import transcriber
from tests.support.speech import hold_music, tone

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", ["silence", "noise", "ringback"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_thirty_seconds_without_speech_is_an_empty_transcript(
    base: transcriber.Transcriber, tmp_path: Path, kind: str, language: str
) -> None:
    audio = tone(tmp_path / f"{kind}.wav", seconds=30, kind=kind)
    started = time.monotonic()
    result = base.transcribe(audio, language=language)
    assert result.segments == (), result.to_dict()
    assert result.text == ""
    assert result.duration == pytest.approx(30.0, abs=0.01)
    assert time.monotonic() - started < 20


def test_hold_music_is_an_empty_transcript(base: transcriber.Transcriber, tmp_path: Path) -> None:
    result = base.transcribe(hold_music(tmp_path / "hold.wav", seconds=30), language="zh")
    assert result.segments == (), result.to_dict()


def test_silence_without_vad_still_gives_no_words(
    base: transcriber.Transcriber, tmp_path: Path
) -> None:
    """The guards alone (no-speech probability, phrase list) catch what VAD would have."""
    raw = transcriber.with_options(base, vad=False, batch_size=1)
    result = raw.transcribe(tone(tmp_path / "s.wav", seconds=10, kind="silence"), language="zh")
    assert result.segments == (), result.to_dict()


def test_a_call_hung_up_at_once_is_an_empty_transcript(
    base: transcriber.Transcriber, tmp_path: Path
) -> None:
    """A BYE right after the 200 OK: a stereo recording of a few milliseconds (here 20
    samples a channel), which once failed every attempt with a numpy error."""
    import wave

    path = tmp_path / "hung-up.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00\x02\x00" * 20)
    result = base.transcribe(path, language="zh")
    assert result.segments == () and result.text == ""
    assert result.duration < 0.01
