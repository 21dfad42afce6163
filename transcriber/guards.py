"""Guards against invented words: what the model says when nobody is speaking.

Whisper was trained on subtitles, so silence, tones and music make it write subtitle
credits ("字幕由 Amara.org 社群提供"), video outros ("Thank you for watching"), or
the prompt it was given. The guards drop such segments and say why; the phrase list
lives in ``data/hallucinations.txt`` so it can grow without touching code.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from transcriber.chinese import has_cjk, simplified_chinese, to_simplified
from transcriber.numbers import DIGIT_CHARS, digits_of


@dataclass(frozen=True, slots=True)
class PhraseList:
    """Normalised phrases: ``whole`` must be the entire segment, ``anywhere`` inside it."""

    whole: frozenset[str]
    anywhere: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> PhraseList:
        whole: set[str] = set()
        anywhere: list[str] = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, phrase = line.partition(" ")
            key = normalize(phrase)
            if kind not in ("=", "~") or not key:
                raise ValueError(
                    f"hallucination list line {number}: expected '= phrase' or '~ phrase': {line!r}"
                )
            if kind == "=":
                whole.add(key)
            else:
                anywhere.append(key)
        return cls(frozenset(whole), tuple(anywhere))

    def matches(self, text: str) -> bool:
        """Whether ``text`` is a listed phrase, or mostly one ('~' phrases).

        A '~' phrase inside a long segment of real speech is far more likely a
        mishearing ("thank you for calling" heard as "…watching") than an invented
        line, so '~' phrases condemn a segment only when together they make up at
        least half of it.
        """
        key = normalize(text)
        if key in self.whole:
            return True
        rest = key
        for phrase in self.anywhere:
            rest = rest.replace(phrase, "")
        return rest != key and 2 * len(rest) <= len(key)


@functools.cache
def bundled_phrases() -> PhraseList:
    """The list shipped in ``transcriber/data/hallucinations.txt``."""
    text = resources.files("transcriber").joinpath("data", "hallucinations.txt").read_text("utf-8")
    return PhraseList.parse(text)


def load_phrases(path: str | Path | None) -> PhraseList:
    """A phrase list from ``path``, or the bundled one for ``None``."""
    if path is None:
        return bundled_phrases()
    return PhraseList.parse(Path(path).read_text("utf-8"))


def normalize(text: str) -> str:
    """NFKC, Simplified, lower case; only letters and digits kept (dots too, for domains)."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    return "".join(c for c in text if unicodedata.category(c)[0] in "LN" or c == ".").strip(".")


def strip_prompt_echo(text: str, prompt: str, *, min_block: int = 2, min_share: float = 0.6) -> str:
    """``text`` without any stretch that repeats ``prompt`` or one of its parts.

    The model sometimes copies its prompt into the transcript, whole, in part or broken
    up ("以下刚才是普通话的句子。" for the prompt "以下是普通话的句子。"). Each part of
    the prompt (``prompt_parts``: its sentences and clauses) is looked for on its own.
    A stretch of ``text`` is an echo of a part when pieces of at least ``min_block``
    characters, in the part's order, cover ``min_share`` of it and most of the stretch.
    A part made of digits only (the prompt shows how a number is written) is an echo
    only whole, in Chinese or Arabic digits: a caller's number may hold a piece of it.
    """
    for part in prompt_parts(prompt):
        digits = _digits_only(part)
        if digits:
            text = _strip_number(text, digits)
        else:
            text = _strip_echo(text, part, min_block=min_block, min_share=min_share)
    return text


_PART_END = re.compile(r"(?<=[。！？：；，、.!?:;,])")
_DIGIT_RUN = re.compile(rf"[{DIGIT_CHARS}](?:[ \-]?[{DIGIT_CHARS}])*")
"""Digits in a row (Arabic, full-width or Chinese), spaces or dashes between."""
_NUMBER_SHOWN = re.compile(rf"[{DIGIT_CHARS}]{{4,}}\W*")
"""A number in the prompt (four digits or more, and the punctuation after them)."""
MIN_PART = 4
"""Characters a part of the prompt needs to be looked for on its own: a word or two
(号码) is what callers say too."""


@functools.cache
def prompt_parts(prompt: str) -> tuple[str, ...]:
    """The sentences and clauses of ``prompt``, each with the punctuation that ends it,
    and the numbers in them, each a part of its own; words shorter than ``MIN_PART``
    beside a number are left out."""
    parts: list[str] = []
    for clause in _PART_END.split(prompt):
        at = 0
        for number in _NUMBER_SHOWN.finditer(clause):
            parts += [clause[at : number.start()], number.group()]
            at = number.end()
        parts.append(clause[at:])
    return tuple(p.strip() for p in parts if _digits_only(p) or len(normalize(p)) >= MIN_PART)


def _digits_only(part: str) -> str:
    """The digits of ``part`` if it is nothing but digits and punctuation, else ``""``."""
    kept = "".join(c for c in part if not unicodedata.category(c).startswith(("P", "Z")))
    return digits_of(kept) if kept and _DIGIT_RUN.fullmatch(kept) else ""


def _strip_number(text: str, digits: str) -> str:
    runs = [m for m in _DIGIT_RUN.finditer(text) if digits_of(m.group()) == digits]
    for m in reversed(runs):
        text = _cut(text, m.start(), m.end())
    return text


def _strip_echo(text: str, part: str, *, min_block: int, min_share: float) -> str:
    if not part or not text:
        return text
    while True:
        matcher = difflib.SequenceMatcher(None, text, part, autojunk=False)
        blocks = [b for b in matcher.get_matching_blocks() if b.size >= min_block]
        matched = sum(b.size for b in blocks)
        if not blocks or matched < min_share * len(part):
            return text
        start, end = blocks[0].a, blocks[-1].a + blocks[-1].size
        if matched < 0.7 * (end - start):
            return text  # pieces scattered over real speech: not an echo
        text = _cut(text, start, end)


def _cut(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]``; a space left between two Latin words."""
    left, right = text[:start].rstrip(), text[end:].lstrip()
    if not left and right and unicodedata.category(right[0]).startswith("P"):
        right = right[1:].lstrip()  # nothing before: the echo's own full stop goes with it
    between = " " if left and right and _latin(left[-1]) and _latin(right[0]) else ""
    return left + between + right


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def is_hotword_echo(text: str, hotwords: Sequence[str], *, at_least: int = 2) -> bool:
    """True when ``text`` is nothing but two or more of the hot words, as the prompt listed them."""
    if len(hotwords) < at_least:
        return False
    rest = normalize(text)
    if not rest:
        return False
    found = 0
    for word in sorted((normalize(w) for w in hotwords), key=len, reverse=True):
        if word and word in rest:
            rest = rest.replace(word, "")
            found += 1
    return found >= at_least and not rest


_LOOP = re.compile(r"(\S.{0,15}?)\1{3,}", re.DOTALL)


def _loops(text: str) -> list[re.Match[str]]:
    # A repeated piece must hold a letter (any script): "1000000" and "....." are fine.
    return [
        m
        for m in _LOOP.finditer(text)
        if any(unicodedata.category(c)[0] == "L" for c in m.group(1))
    ]


def has_loop(text: str) -> bool:
    """A piece of up to 16 characters said four times or more in a row: the model is stuck."""
    return bool(_loops(text))


_SEPARATORS = "、，,。 ；;"


def repeats_a_hot_word(text: str, hotwords: Sequence[str]) -> bool:
    """A hot word said again at once ("统计执法、统计执法", "统计执法统计执法"), or a
    long one begun again ("统计执法、统计执"): the model is copying its list of hot
    words, not hearing speech."""
    return bool(copied_hot_words(text, hotwords))


def copied_hot_words(text: str, hotwords: Sequence[str]) -> list[str]:
    """The hot words ``text`` says again at once (see ``repeats_a_hot_word``)."""
    if not hotwords:
        return []
    from transcriber.chinese import to_simplified

    text = to_simplified(text)
    copied: list[str] = []
    for word in dict.fromkeys(w.strip() for w in hotwords):
        if len(word) < 2:
            continue
        needed = len(word) if len(word) <= 3 else len(word) - 1
        at = text.find(word)
        while at >= 0:
            rest = text[at + len(word) :].lstrip(_SEPARATORS)
            if rest[:needed] == word[:needed]:
                copied.append(word)
                break
            at = text.find(word, at + 1)
    return copied


def without_words(hotwords: Sequence[str], words: Sequence[str]) -> tuple[str, ...]:
    """``hotwords`` without ``words``, in their order."""
    return tuple(w for w in hotwords if w not in words)


def collapse_loops(text: str) -> str:
    """Each run of a repeated piece cut to one copy ("我试，我试，我试，我试，" -> "我试，")."""
    for match in reversed(_loops(text)):
        text = text[: match.start()] + match.group(1) + text[match.end() :]
    return text


def repeats_itself(text: str, *, max_ratio: float = 2.4) -> bool:
    """A segment that is one phrase looping ("好的好的好的…") compresses too well."""
    data = text.encode("utf-8")
    if len(data) < 24:
        return False
    return len(data) / len(zlib.compress(data)) > max_ratio


def is_punctuation_only(text: str) -> bool:
    return not any(unicodedata.category(c)[0] in "LN" for c in text)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the guards made of one segment: the text to keep, or why it goes."""

    text: str
    reason: str | None = None
    """``None``: keep ``text``. Else: ``prompt-echo``, ``empty``, ``no-speech``,
    ``hallucination``, ``hotword-echo``, ``repetition`` (or, from the engine, which
    sees the audio, ``silence``)."""
    notes: tuple[str, ...] = ()
    """What was cut from a kept segment (a prompt echo, a loop), for the audit trail."""


@dataclass(frozen=True, slots=True)
class Guard:
    """The checks every segment passes, in order, with the thresholds they use."""

    phrases: PhraseList
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    certain_no_speech: float = 0.85
    max_compression_ratio: float = 2.4

    def check(
        self,
        text: str,
        *,
        avg_logprob: float,
        no_speech_prob: float,
        prompt: str | None = None,
        hotwords: Sequence[str] = (),
        chinese: bool = False,
        lexicon: Sequence[str] = (),
    ) -> Verdict:
        """Clean ``text`` (Simplified Chinese, prompt echo, loops) and judge it."""
        text = " ".join(text.split())
        if chinese or has_cjk(text):
            text = simplified_chinese(text)
        notes: list[str] = []
        if prompt:
            stripped = strip_prompt_echo(text, prompt)
            if stripped != text:
                if is_punctuation_only(stripped):
                    return Verdict(text, "prompt-echo")
                notes.append(f"prompt echo removed from {text!r}")
                text = stripped
        if has_loop(text):
            notes.append(f"loop collapsed in {text!r}")
            text = collapse_loops(text)
        if is_punctuation_only(text):
            return Verdict(text, "empty")
        if no_speech_prob > self.certain_no_speech or (
            no_speech_prob > self.no_speech_threshold and avg_logprob < self.logprob_threshold
        ):
            return Verdict(text, "no-speech")
        if self.phrases.matches(text):
            return Verdict(text, "hallucination")
        # The lexicon's words are what callers say: a short answer made of two of them
        # (虚报产值) is speech; a list of four or more of them is the prompt read back.
        if is_hotword_echo(text, hotwords) or is_hotword_echo(text, lexicon, at_least=4):
            return Verdict(text, "hotword-echo")
        if repeats_itself(text, max_ratio=self.max_compression_ratio):
            return Verdict(text, "repetition")
        return Verdict(text, None, tuple(notes))
