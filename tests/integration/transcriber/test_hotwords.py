"""Hot words reach the model: a company name it cannot know is spelt right with them."""

from __future__ import annotations

from pathlib import Path

import pytest

import transcriber
from tests.support.speech import conversation

REPORT = "The company Kalmora Trading falsified its industrial output figures."

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("encoding", "rate"), [("u-law", 8000), ("signed-integer", 16000)])
def test_a_hot_word_is_written_as_configured(
    base: transcriber.Transcriber, tmp_path: Path, encoding: str, rate: int
) -> None:
    audio = conversation(
        [("caller", REPORT)],
        tmp_path / "r.wav",
        voices={"caller": "en-us"},
        encoding=encoding,
        rate=rate,
    )
    plain = base.transcribe(audio, language="en")
    assert "Kalmora Trading" not in plain.text, "the name must be unknown to the model by itself"
    hinted = base.transcribe(audio, language="en", hotwords=["Kalmora Trading"])
    assert "Kalmora Trading" in hinted.text, hinted.text
    configured = transcriber.with_options(base, hotwords=("Kalmora Trading", "output figures"))
    assert "Kalmora Trading" in configured.transcribe(audio, language="en").text
