"""Word and character error rates, for tests and benchmarks that know the script.

English is compared word by word after normalisation (case, punctuation, numbers
written as digits or words); Chinese character by character after conversion to
Simplified and removal of punctuation and spaces.
"""

from __future__ import annotations

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
    """Characters that carry meaning: no punctuation, symbols or spaces; Simplified."""
    from transcriber.chinese import to_simplified

    text = to_simplified(unicodedata.normalize("NFKC", text))
    return [c for c in text if unicodedata.category(c)[0] in "LN"]


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
