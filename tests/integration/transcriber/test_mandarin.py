"""Mandarin speech (espeak-ng ``cmn-latn-pinyin``): Simplified Chinese out, never the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

import transcriber
from tests.integration.transcriber.conftest import telephone_versions
from transcriber.chinese import has_cjk, to_simplified
from transcriber.metrics import cer
from transcriber.options import ZH_PROMPT

HANZI = "我家楼下的煤气管道破了，味道很大。好的，我们马上派人过去。请您先离开房间，不要开灯。"
PINYIN = (
    "wo3 jia1 lou2 xia4 de5 mei2 qi4 guan3 dao4 po4 le5, wei4 dao4 hen3 da4. "
    "hao3 de5, wo3 men5 ma3 shang4 pai4 ren2 guo4 qu4. "
    "qing3 nin2 xian1 li2 kai1 fang2 jian1, bu2 yao4 kai1 deng1."
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mandarin_audio(speech_dir: Path) -> dict[str, Path]:
    # espeak-ng reads Mandarin fast and flat; slower speech is what base can follow.
    return telephone_versions(PINYIN, "report-zh", speech_dir, voice="cmn-latn-pinyin", speed=110)


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
    assert " " not in text.strip() or not has_cjk(text.replace(" ", "")[:1])
    # espeak's Mandarin is robotic and base is small: a loose bound, but not noise.
    assert cer(HANZI, text) < 0.7, text
    assert {"离开房间", "不要开灯"} & {w for w in ("离开房间", "不要开灯") if w in text}, text


def test_auto_detects_mandarin_among_the_hotline_languages(
    base: transcriber.Transcriber, mandarin_audio: dict[str, Path]
) -> None:
    result = base.transcribe(mandarin_audio["16k"], language="auto")
    assert result.language == "zh", result
    assert has_cjk(result.text) and to_simplified(result.text) == result.text


def test_prompt_is_the_documented_simplified_sentence(base: transcriber.Transcriber) -> None:
    assert base.options.prompt_for("zh") == ZH_PROMPT == to_simplified(ZH_PROMPT)
