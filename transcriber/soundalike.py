"""Words written as they sound: a lexicon word or a case's name the model misheard as
characters that are read the same (快计 for 会计, 据报 for 拒报, 红达 for 宏达).

Whisper hears the sound of a word right far more often than it picks the characters:
in Mandarin many characters share a syllable, and a name or a term the model has
rarely seen loses to a commoner character with the same sound. Each Mandarin segment
is compared, by its pinyin (``pypinyin``), with the recording's hot words (a case's
names, the configured ones, the hotline's lexicon) and with the parts of each longer
name (宏达机械厂: 宏达, 机械厂). A run of characters is rewritten as the hot word when:

- it lies on the word boundaries the segmenter (``jieba``) finds in the sentence, so
  据报道 is never cut into 拒报 + 道, nor 需报告 into 虚报 + 告;
- no real word in it is changed: 公私 stays 公私 beside the hot word 公司;
- where the run is characters that make no word there (快计, 满报, 率元), each can be
  read as the hot word's syllable at its place by any of its readings (率 is shuài
  or lǜ), at most one in three with another tone (快击 for 会计);
- where the run holds a real word (红达机械厂 for 宏达机械厂), that word is the hot
  word's own and the other characters are read exactly as the hot word, tones
  included, in the reading they have in the run (手机好 is not 手机号);
- it is not itself one of the hot words (举报 and 拒报 are both in the lexicon).

A run of single characters that each make a word and read exactly as a hot word is
rewritten too: 据报 (according to reports) becomes 拒报 when 拒报 is a hot word and the
sentence does not say 据报道. The recording, not the transcript, is the evidence.

One-character words (厂, 县) are never used: too many characters sound like them.
The one exception is the unit of the amounts these calls report: after a number and
个, a character standing alone that reads yì is 亿 (报给统计局的是一个意 → 一个亿); 一个意思
and 三个意见 are words and stay.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transcriber.chinese import readings

_log = logging.getLogger(__name__)

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_NUMERALS = frozenset("零〇一二两三四五六七八九十百千万亿幺")
"""A run of these is a number being read out: ``numbers`` writes it, nothing here."""
_AMOUNT = re.compile(r"(?<=[0-9０-９一二两三四五六七八九十几半])个([\u4e00-\u9fff])")
"""个 after a number, and the character after it: where that character stands alone
and reads yì, the amount is 亿 (一个亿, 3个亿)."""
_tokenizer: Any = None
_tokenizer_lock = threading.Lock()


def _jieba() -> Any:
    """jieba's tokenizer, loaded once: about a second the first time on a machine, then
    from the cache it writes in the temporary directory (where it cannot, it says so
    in its log and goes on without)."""
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


@dataclass(frozen=True, slots=True)
class _Entry:
    word: str
    toned: tuple[str, ...]
    """The word's own reading, a syllable a character, tones as numbers."""


def _entry(word: str) -> _Entry:
    return _Entry(word, tuple(_reading(word)))


@dataclass(frozen=True, slots=True)
class Change:
    start: int
    """Character offset of the rewritten run in the text before the change."""
    heard: str
    written: str


class Soundalikes:
    """The hot words of one recording, ready to compare segments with."""

    def __init__(self, words: Sequence[str]) -> None:
        self._known = frozenset(words)
        entries: dict[str, _Entry] = {}
        tokenizer = _jieba() if words else None
        for word in words:
            if _HAN.fullmatch(word) is None or len(word) < 2:
                continue
            entries.setdefault(word, _entry(word))
            if len(word) >= 4 and tokenizer is not None:
                for part in tokenizer.lcut(word):
                    if len(part) >= 2 and _HAN.fullmatch(part) and not _NUMERALS.issuperset(part):
                        entries.setdefault(part, _entry(part))
        # Longest first: a whole name before its parts.
        self._entries = sorted(entries.values(), key=lambda e: -len(e.word))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def correct(self, text: str) -> tuple[str, tuple[Change, ...]]:
        """The text with every misheard hot word (and 亿) written as it should be."""
        if _HAN.search(text) is None:
            return text, ()
        tokenizer = _jieba()
        tokens: list[tuple[int, int, str]] = []
        at = 0
        for token in tokenizer.lcut(text, HMM=False):
            tokens.append((at, at + len(token), token))
            at += len(token)
        starts = {a for a, _b, _t in tokens}
        ends = {b for _a, b, _t in tokens}
        taken = [False] * len(text)
        changes: list[Change] = []
        for match in _AMOUNT.finditer(text):
            at = match.start(1)
            char = match.group(1)
            if char != "亿" and at in starts and at + 1 in ends and "yi4" in readings(char)[0]:
                changes.append(Change(at, char, "亿"))
                taken[at] = True
        words = [
            (a, b, t)
            for a, b, t in tokens
            if len(t) >= 2 and _HAN.fullmatch(t) and tokenizer.FREQ.get(t, 0) > 0
        ]
        for entry in self._entries:
            n = len(entry.word)
            for i in range(len(text) - n + 1):
                if i not in starts or i + n not in ends or any(taken[i : i + n]):
                    continue
                heard = text[i : i + n]
                if heard == entry.word or heard in self._known or _NUMERALS.issuperset(heard):
                    continue
                if _sounds_like(heard, entry, [w for w in words if w[0] < i + n and w[1] > i], i):
                    changes.append(Change(i, heard, entry.word))
                    for k in range(i, i + n):
                        taken[k] = True
        if not changes:
            return text, ()
        out = list(text)
        for change in changes:
            out[change.start : change.start + len(change.written)] = list(change.written)
        for change in sorted(changes, key=lambda c: c.start):
            _log.info("%s written as %s (same sound)", change.heard, change.written)
        return "".join(out), tuple(sorted(changes, key=lambda c: c.start))


def _sounds_like(
    heard: str, entry: _Entry, real_words: list[tuple[int, int, str]], offset: int
) -> bool:
    if any(_HAN.fullmatch(char) is None for char in heard):
        return False
    if real_words:
        # A real word of the sentence in the run must be the hot word's own characters,
        # and the rest must be read exactly as the hot word is, tones included, in the
        # reading the run has here (好 in 手机好 is hǎo, never the hào of 手机号).
        for a, b, token in real_words:
            if a < offset or token != entry.word[a - offset : b - offset]:
                return False
        return all(
            char == own or syllable == reading
            for char, own, syllable, reading in zip(
                heard, entry.word, entry.toned, _reading(heard), strict=True
            )
        )
    # Characters that make no word here: any of their readings, a tone slip allowed.
    tone_slips = 0
    for char, own, syllable in zip(heard, entry.word, entry.toned, strict=True):
        toned, toneless = readings(char)
        if char == own or syllable in toned:
            continue
        if syllable.rstrip("012345") not in toneless:
            return False
        tone_slips += 1
    return tone_slips <= max(1, len(heard) // 3)


def _reading(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    return list(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))


@functools.lru_cache(maxsize=64)
def for_words(words: tuple[str, ...]) -> Soundalikes:
    """The comparer for one list of hot words (a recording's), built once."""
    return Soundalikes(words)
