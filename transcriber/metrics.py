"""Word and character error rates, for tests and benchmarks that know the script.

English is compared word by word after normalisation (case, punctuation, numbers
written as digits or words); Chinese character by character after conversion to
Simplified and removal of punctuation and spaces, numbers compared as digits
(``三千万``, ``3000万`` and ``30000000`` are the same; ``一五九`` and ``159`` too).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SPELLING = {"mr": "mister", "mrs": "missus", "neighbor": "neighbour", "neighbors": "neighbours"}


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    return [str(n)]


def english_words(text: str) -> list[str]:
    """Lower-case words without punctuation; ``12`` and ``twelve`` compare equal."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "")
    words: list[str] = []
    for token in re.findall(r"[a-z]+|\d+", text.replace("-", " ")):
        if token.isdigit():
            words.extend(_number_words(int(token)))
        else:
            words.append(_SPELLING.get(token, token))
    return words


def chinese_chars(text: str) -> list[str]:
    """Characters that carry meaning: no punctuation, symbols or spaces; Simplified;
    numbers as Arabic digits."""
    from transcriber.chinese import to_simplified

    text = chinese_numerals(to_simplified(unicodedata.normalize("NFKC", text)))
    return [c for c in text if unicodedata.category(c)[0] in "LN"]


_CHINESE_DIGIT = str.maketrans("零〇一幺二三四五六七八九", "001123456789")
_TIMES = {"万": 10**4, "亿": 10**8}


def chinese_numerals(text: str) -> str:
    """Every number in Arabic digits, so that a transcript is not scored down for
    writing a number the other way: cn2an's conversion (``三百`` -> ``300``), a unit
    multiplied out (``3000万`` -> ``30000000``), then any Chinese digit left made
    Arabic. The same is done to the reference, so ``一样`` -> ``1样`` costs nothing.
    cn2an comes with the test extras (misaki needs it); without it digits are only
    mapped one by one."""
    try:
        import cn2an  # type: ignore[import-untyped]
    except ImportError:
        pass
    else:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(Exception):  # what cn2an cannot parse stays
                text = str(cn2an.transform(text, "cn2an"))
    text = re.sub(r"(\d+)([万亿])", lambda m: str(int(m.group(1)) * _TIMES[m.group(2)]), text)
    return text.translate(_CHINESE_DIGIT)


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (English)."""
    ref = english_words(reference)
    return edit_distance(ref, english_words(hypothesis)) / max(1, len(ref))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (Chinese)."""
    ref = chinese_chars(reference)
    return edit_distance(ref, chinese_chars(hypothesis)) / max(1, len(ref))
