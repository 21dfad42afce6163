"""Two-channel calls and two-leg recordings: each speaker's words under their own label."""

from __future__ import annotations

from pathlib import Path

import pytest

import transcriber
from tests.integration.transcriber.conftest import assert_words_fit
from tests.support.speech import conversation, phone_speech
from transcriber.metrics import english_words

TURNS = (
    ("operator", "Hotline, good afternoon. What would you like to report?"),
    ("caller", "There is a broken gas pipe on Baker Street."),
    ("operator", "Thank you. Is anyone hurt?"),
    ("caller", "Nobody is hurt, but please send a team quickly."),
)
VOICES = {"caller": "en-us", "operator": "en-gb"}
CALLER_WORDS = {"broken", "gas", "pipe", "nobody", "quickly"}
OPERATOR_WORDS = {"hotline", "afternoon", "report", "anyone"}

pytestmark = pytest.mark.slow


def words_of(result: transcriber.Transcript, speaker: str) -> set[str]:
    return {w for s in result.segments if s.speaker == speaker for w in english_words(s.text)}


def assert_turns_are_labelled(result: transcriber.Transcript) -> None:
    assert set(result.speakers) == {"caller", "operator"}, result.dialogue
    caller, operator = words_of(result, "caller"), words_of(result, "operator")
    # base on 8 kHz espeak misses a word here and there; what matters is whose words land where.
    assert len(CALLER_WORDS & caller) >= 3 and not CALLER_WORDS & operator, result.dialogue
    assert len(OPERATOR_WORDS & operator) >= 2 and not OPERATOR_WORDS & caller, result.dialogue
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    assert_words_fit(result)  # each speaker's words keep their times through the merge
    assert result.segments[0].speaker == "operator", result.dialogue
    turns = [s.speaker for s in result.segments]
    assert turns.index("caller") < len(turns) - 1 - turns[::-1].index("operator"), (
        "turns must interleave"
    )


def test_stereo_file_is_transcribed_per_channel(
    base: transcriber.Transcriber, tmp_path: Path
) -> None:
    call = conversation(
        TURNS, tmp_path / "call.wav", voices=VOICES, stereo=("caller", "operator"), rate=8000
    )
    result = base.transcribe(call, language="en")
    assert_turns_are_labelled(result)
    assert "caller: " in result.dialogue and "operator: " in result.dialogue


def test_channel_names_can_be_given(base: transcriber.Transcriber, tmp_path: Path) -> None:
    call = conversation(
        TURNS, tmp_path / "call.wav", voices=VOICES, stereo=("operator", "caller"), rate=8000
    )
    result = base.transcribe(call, language="en", speakers=("operator", "caller"))
    assert_turns_are_labelled(result)


def test_mixmonitor_legs_are_merged_by_time(base: transcriber.Transcriber, tmp_path: Path) -> None:
    """MixMonitor r()/t(): two mono files of the same length, one per direction, µ-law."""
    call = conversation(
        TURNS, tmp_path / "call.wav", voices=VOICES, stereo=("caller", "operator"), rate=8000
    )
    legs = {}
    for channel, name in ((1, "caller"), (2, "operator")):
        leg = tmp_path / f"call-{name}.wav"
        import subprocess

        subprocess.run(
            ["sox", str(call), "-e", "u-law", "-b", "8", str(leg), "remix", str(channel)],
            check=True,
        )
        legs[name] = leg
    result = base.transcribe(legs, language="en")
    assert_turns_are_labelled(result)


def test_mono_and_mixed_recordings_have_no_speakers(
    base: transcriber.Transcriber, tmp_path: Path
) -> None:
    mono = phone_speech("Please send someone soon.", tmp_path / "mono.wav", voice="en-us")
    result = base.transcribe(mono, language="en")
    assert result.segments and all(s.speaker is None for s in result.segments)
    call = conversation(
        TURNS[:2], tmp_path / "call.wav", voices=VOICES, stereo=("caller", "operator")
    )
    mixed = base.transcribe(call, language="en", speakers=())
    assert mixed.segments and mixed.speakers == ()
