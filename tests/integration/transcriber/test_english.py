"""English speech made by espeak-ng, at 16 kHz and as 8 kHz µ-law: the key words come out."""

from __future__ import annotations

from pathlib import Path

import pytest

import transcriber
from tests.integration.transcriber.conftest import assert_words_fit, telephone_versions
from tests.support.fixtures import MIXMONITOR_SAMPLE
from transcriber.metrics import english_words, wer

REPORT = (
    "Hello, I would like to report a broken gas pipe on Baker Street. "
    "It smells very strongly of gas. Please send someone soon."
)
KEY_WORDS = {"report", "broken", "gas", "pipe", "smells", "strongly"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report_audio(speech_dir: Path) -> dict[str, Path]:
    return telephone_versions(REPORT, "report-en", speech_dir, voice="en-us")


@pytest.mark.parametrize("band", ["16k", "8k-ulaw"])
def test_english_report_key_words(
    tiny_en: transcriber.Transcriber, report_audio: dict[str, Path], band: str
) -> None:
    result = tiny_en.transcribe(report_audio[band], language="en")
    words = set(english_words(result.text))
    assert words >= KEY_WORDS, result.text
    assert result.language == "en" and result.model == "faster-whisper:bundled-tiny.en:int8"
    assert result.segments and all(
        0 <= s.start < s.end <= result.duration + 0.5 for s in result.segments
    )
    assert all(s.avg_logprob is not None and s.no_speech_prob is not None for s in result.segments)
    assert wer(REPORT, result.text) < 0.35
    assert_words_fit(result)


def test_base_detects_english_by_itself(
    base: transcriber.Transcriber, report_audio: dict[str, Path]
) -> None:
    result = base.transcribe(report_audio["8k-ulaw"], language="auto")
    assert result.language == "en" and result.language_probability is not None
    assert {"report", "gas", "pipe"} <= set(english_words(result.text)), result.text


def test_asterisk_mixmonitor_recording(base: transcriber.Transcriber) -> None:
    """A real Asterisk recording: ringback, operator greeting, then the caller's report."""
    result = base.transcribe(MIXMONITOR_SAMPLE, language="en")
    words = set(english_words(result.text))
    assert {
        "report",
        "safety",
        "broken",
        "gas",
        "pipe",
        "street",
        "twelve",
        "alex",
        "smith",
    } <= words, result.text
    assert result.duration == pytest.approx(27.58, abs=0.01)
    assert result.segments[0].start >= 1.5, "the 2 s of ringback must not become words"
    assert not any("watching" in s.text.lower() for s in result.segments)
