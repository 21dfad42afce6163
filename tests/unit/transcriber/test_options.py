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
    assert options.hotword_text("zh") == "华信科技、GDP"
    assert options.hotword_text("en") == "华信科技, GDP"
    assert options.hotword_text("en", ()) is None
