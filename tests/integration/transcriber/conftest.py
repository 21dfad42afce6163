"""Real models on real audio: each model loads once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import transcriber
from tests.support.speech import convert, speak

# A real Asterisk MixMonitor recording (MIXMONITOR_SAMPLE) and its exact script
# (tests/fixtures/audio/README.md).
MIXMONITOR_SCRIPT = (
    "Hotline, good afternoon. Thank you for calling. "
    "Please tell me what you would like to report. "
    "Hello, I would like to report a safety problem. "
    "There is a broken gas pipe on Baker Street, near number twelve, "
    "and it smells very strongly of gas. My name is Alex Smith, "
    "and you can reach me on this number. Please send someone soon. Thank you."
)


def assert_words_fit(result: transcriber.Transcript, *, slack: float = 0.5) -> None:
    """Every segment carries timed words that spell its text, in order, inside its span."""
    for seg in result.segments:
        assert seg.words, f"no word timings in {seg}"
        assert "".join(w.word for w in seg.words) == seg.text, seg
        starts = [w.start for w in seg.words]
        assert starts == sorted(starts), seg
        for w in seg.words:
            assert seg.start - slack <= w.start <= w.end <= seg.end + slack, (w, seg)
            assert w.start >= 0.0 and w.end <= result.duration + 0.05, (w, result.duration)
            assert w.probability is None or 0.0 <= w.probability <= 1.0


@pytest.fixture(scope="session")
def base() -> transcriber.Transcriber:
    """The default model: bundled multilingual base, int8."""
    return transcriber.load()


@pytest.fixture(scope="session")
def tiny_en() -> transcriber.Transcriber:
    """English-only tiny, for tests where English speed matters."""
    return transcriber.load("bundled-tiny.en")


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def telephone_versions(
    text: str, name: str, where: Path, *, voice: str, speed: int = 150
) -> dict[str, Path]:
    """The same utterance at 16 kHz PCM and as an 8 kHz µ-law telephone recording."""
    raw = speak(text, where / f"{name}.espeak.wav", voice=voice, speed=speed)
    return {
        "16k": convert(raw, where / f"{name}-16k.wav", rate=16000),
        "8k-ulaw": convert(raw, where / f"{name}-8k-ulaw.wav", rate=8000, encoding="u-law", bits=8),
    }
