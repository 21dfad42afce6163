"""Mandarin speech (natural voices, a caller and the operator): Simplified Chinese out,
written without spaces, never the prompt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import transcriber
from tests.support.kokoro import mandarin_call
from transcriber.chinese import has_cjk, to_simplified
from transcriber.metrics import cer
from transcriber.options import ZH_PROMPT

CALLER = "我家楼下的煤气管道破了，味道很大。"
OPERATOR = "好的，我们马上派人过去。请您先离开房间，不要开灯。"
HANZI = CALLER + OPERATOR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mandarin_audio() -> dict[str, Path]:
    script = [("caller", CALLER), ("operator", OPERATOR)]
    voices = {"caller": "zf_xiaoyi", "operator": "zm_yunxi"}
    return {
        "16k": mandarin_call(script, voices=voices, rate=16000, encoding="signed-integer"),
        "8k-ulaw": mandarin_call(script, voices=voices),
    }


@pytest.mark.parametrize("band", ["16k", "8k-ulaw"])
def test_mandarin_comes_out_in_simplified_chinese(
    base: transcriber.Transcriber, mandarin_audio: dict[str, Path], band: str
) -> None:
    result = base.transcribe(mandarin_audio[band], language="zh")
    text = result.text
    assert result.language == "zh"
    assert has_cjk(text), text
    assert to_simplified(text) == text, f"Traditional characters in {text!r}"
    assert "普通话的句子" not in text, "the prompt leaked into the transcript"
    # Chinese is written without spaces; one next to Latin text ("我叫 Lisa") is fine.
    assert not re.search(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]", text), text
    assert cer(HANZI, text) <= 0.1, text
    assert "离开房间" in text and "不要开灯" in text, text


def test_auto_detects_mandarin_among_the_hotline_languages(
    base: transcriber.Transcriber, mandarin_audio: dict[str, Path]
) -> None:
    result = base.transcribe(mandarin_audio["16k"], language="auto")
    assert result.language == "zh", result
    assert has_cjk(result.text) and to_simplified(result.text) == result.text


def test_prompt_is_the_documented_simplified_sentence(base: transcriber.Transcriber) -> None:
    assert base.options.prompt_for("zh") == ZH_PROMPT == to_simplified(ZH_PROMPT)
