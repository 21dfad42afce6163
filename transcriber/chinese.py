"""Chinese text: Simplified output whatever the model wrote; the readings of a character.

Whisper often answers Mandarin in Traditional characters; OpenCC's ``t2s`` converts
character by character (and common phrases), leaving Latin text and digits alone.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{_HAN}]")
ENDS_CHINESE = "，。！？、；：”’）"
"""Punctuation that ends a stretch of Chinese text: no space after it before Chinese."""
STARTS_CHINESE = "，。！？、；：“‘（"
"""Punctuation that starts one (or sits before its text): no space before it after Chinese."""


@functools.cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=4096)
def readings(char: str) -> tuple[frozenset[str], frozenset[str]]:
    """Every reading of one character (``pypinyin``, heteronyms included): with tone
    numbers (neutral tone 5), and without. 吧: ``{"ba5", "ba1"}``, ``{"ba"}``."""
    from pypinyin import Style, pinyin

    found = pinyin(char, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)
    toned = frozenset(found[0])
    return toned, frozenset(r.rstrip("012345") for r in toned)


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any Chinese character."""
    return _CJK.search(text) is not None


def to_simplified(text: str) -> str:
    """``text`` with every Traditional Chinese character made Simplified."""
    if not has_cjk(text):
        return text
    return str(_converter().convert(text))


_FULLWIDTH = {",": "，", ".": "。", "?": "？", "!": "！", ":": "：", ";": "；"}
_HALF_AFTER_CJK = re.compile(rf"(?<=[{_HAN}])\s*([,.?!:;])(?!\d)\s*")


def fullwidth_punctuation(text: str) -> str:
    """Chinese punctuation after Chinese characters: "破了,请" -> "破了，请".

    The model often writes ASCII punctuation in Chinese text; Chinese typesetting uses
    the full-width forms, and so do the handlers who read the transcript. Punctuation
    inside Latin text or numbers ("3.5", "Amara.org") is left alone.
    """
    return _HALF_AFTER_CJK.sub(lambda m: _FULLWIDTH[m.group(1)], text)


_SPACE_IN_CHINESE = re.compile(rf"(?<=[{_HAN}{ENDS_CHINESE}])\s+(?=[{_HAN}{STARTS_CHINESE}])")


def without_spaces_in_chinese(text: str) -> str:
    """No space between Chinese characters: "弯套额 卫套额" -> "弯套额卫套额".

    Chinese is written without spaces; the model writes one where the speaker
    paused. A space next to Latin text or digits ("我叫 Lisa", "138 1234") stays.
    """
    return _SPACE_IN_CHINESE.sub("", text)


def simplified_chinese(text: str) -> str:
    """The model's Chinese output as a reader expects it: Simplified, full-width
    punctuation, no spaces between Chinese characters."""
    return without_spaces_in_chinese(fullwidth_punctuation(to_simplified(text)))
