"""What a transcript says about what the guards dropped, and the voiced seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hotline.transcription import RERUN_MODELS
from transcriber.audio import SAMPLE_RATE, Audio, load_audio
from transcriber.engine import voiced_seconds
from transcriber.models import BUNDLED
from transcriber.result import Dropped, Segment, Transcript

SAMPLE = (
    Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "asterisk-mixmonitor-sample.wav"
)


def _transcript(
    kept: list[tuple[float, float]], dropped: list[tuple[float, float, str]]
) -> Transcript:
    return Transcript(
        language="zh",
        duration=10.0,
        model="m",
        segments=tuple(Segment(a, b, "好") for a, b in kept),
        dropped=tuple(Dropped(a, b, "x", why) for a, b, why in dropped),
    )


def test_nothing_kept_needs_a_notice() -> None:
    assert _transcript([], []).needs_notice
    report = _transcript([], [(1.0, 3.0, "silence"), (4.0, 4.5, "silence")]).drop_report()
    assert report["needs_notice"] and report["dropped_segments"] == 2
    assert report["reasons"] == {"silence": {"segments": 2, "seconds": 2.5}}


def test_mostly_dropped_is_more_speech_time_dropped_than_kept() -> None:
    assert _transcript([(0.0, 1.0)], [(1.0, 3.0, "hallucination")]).needs_notice
    fine = _transcript([(0.0, 5.0)], [(5.0, 6.0, "no-speech")])
    assert not fine.needs_notice
    assert fine.drop_report()["kept_seconds"] == 5.0
    assert fine.to_dict()["drops"]["reasons"] == {"no-speech": {"segments": 1, "seconds": 1.0}}


def test_voiced_seconds_count_overlapping_tracks_once() -> None:
    silent = np.zeros(SAMPLE_RATE * 6, dtype=np.float32)
    assert voiced_seconds([(None, Audio((silent,), "silence"))]) == 0.0
    # A real Asterisk recording: 27.6 s, people talking most of it.
    call = load_audio(SAMPLE, max_seconds=60).mono()
    whole = voiced_seconds([(None, Audio((call,), "call"))])
    assert 18.0 < whole < 27.6, whole
    twice = [(name, Audio((call,), name)) for name in ("caller", "operator")]
    assert voiced_seconds(twice) == whole
    first, second = call.copy(), call.copy()
    first[call.size // 2 :], second[: call.size // 2] = 0, 0
    halves = [("caller", Audio((first,), "a")), ("operator", Audio((second,), "b"))]
    apart = [voiced_seconds([h]) for h in halves]
    assert max(apart) < voiced_seconds(halves) <= sum(apart)


def test_the_models_a_rerun_offers_are_the_bundled_ones() -> None:
    assert set(RERUN_MODELS) == set(BUNDLED)
