"""The language codes settings and re-runs are checked against are the model's own."""

from __future__ import annotations

import pytest

from transcriber import languages


def test_the_codes_are_the_tokenizers() -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    assert set(_LANGUAGE_CODES) == languages.CODES


@pytest.mark.parametrize("value", ["zh", "EN", " yue ", "auto", "haw"])
def test_known_codes_pass(value: str) -> None:
    assert languages.check(value) == value.strip().lower()


@pytest.mark.parametrize("value", ["zz", "ZZ", "cmn", "zh-CN", "", "中文"])
def test_unknown_codes_are_refused_by_name(value: str) -> None:
    with pytest.raises(ValueError, match="expected a language code Whisper knows"):
        languages.check(value)
