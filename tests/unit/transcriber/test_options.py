"""Decoding options: hashable (a loaded model is reused per options), prompt and hot words."""

from __future__ import annotations

import pytest

from transcriber.options import ZH_PROMPT, Options


def test_lists_from_configuration_become_tuples() -> None:
    options = Options(hotwords=["华信科技", "统计局"], languages=["zh"], temperatures=[0.0])  # type: ignore[arg-type]
    assert options.hotwords == ("华信科技", "统计局") and options.languages == ("zh",)
    assert hash(options) == hash(
        Options(hotwords=("华信科技", "统计局"), languages=("zh",), temperatures=(0.0,))
    )
    with pytest.raises(ValueError, match="temperature"):
        Options(temperatures=())


def test_prompt_and_hot_words_per_language() -> None:
    options = Options(hotwords=("华信科技", "GDP"))
    assert options.prompt_for("zh") == ZH_PROMPT and options.prompt_for("en") is None
    assert options.hotword_text("zh") == "华信科技 GDP"
    words = ("宏达机械厂", "虚报", "GDP", "产值")
    assert options.hotword_text("zh", words) == "宏达机械厂虚报 GDP 产值"
    assert options.hotword_text("en") == "华信科技, GDP"
    assert options.hotword_text("en", ()) is None


def test_hot_words_come_most_specific_first_and_the_lexicon_is_mandarin_only() -> None:
    from transcriber.lexicon import LEXICON_ZH

    o = Options(hotwords=("华信科技", "统计局"))
    words = o.hotwords_for("zh", extra=("宏达机械厂", "华信科技"))
    assert words[:3] == ("宏达机械厂", "华信科技", "统计局")
    assert words[3:] == tuple(w for w in LEXICON_ZH if w != "统计局")  # each word once
    assert o.hotwords_for("en") == ("华信科技", "统计局")
    assert Options(lexicon_zh=()).hotwords_for("zh") == ()
    assert o.hotwords_for("zh", hotwords=())[: len(LEXICON_ZH)] == LEXICON_ZH
