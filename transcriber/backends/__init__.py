"""Speech models behind one interface: faster-whisper (default) and openai-whisper.

A backend turns 16 kHz mono float32 samples into raw timed segments with the
model's confidence signals. Everything after that (Chinese conversion, guards,
speaker merging) is the engine's and is the same for every backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from transcriber.guards import copied_hot_words, without_words
from transcriber.options import Options
from transcriber.result import Word
from transcriber.wav import Float32Array


@dataclass(frozen=True, slots=True)
class RawSegment:
    """A segment as the model produced it, before any guard."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[Word, ...] = ()
    """The words the model timed, as its tokenizer wrote them (English words carry their
    leading space); seconds from the start of the audio."""


_log = logging.getLogger(__name__)
_Decoded = TypeVar("_Decoded")

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")


def split_sentences(words: Sequence[Word], *, max_gap: float = 1.0) -> list[tuple[Word, ...]]:
    """Group timed words into sentences.

    A sentence ends after a word ending in ., ?, ! (or their full-width forms), and
    wherever the speaker paused longer than ``max_gap`` seconds, which is where VAD
    cut out a silence, and often where the other party spoke.
    """
    out: list[tuple[Word, ...]] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end > max_gap:
            out.append(tuple(current))
            current = []
        current.append(word)
        if word.word.strip().endswith(_SENTENCE_END):
            out.append(tuple(current))
            current = []
    if current:
        out.append(tuple(current))
    return [s for s in out if "".join(w.word for w in s).strip()]


def by_sentence(segment: RawSegment) -> list[RawSegment]:
    """``segment`` cut into sentences by its timed words (``split_sentences``), each
    with the segment's confidence signals. A model shown a long prompt often writes a
    whole 30 s window as one segment. A segment without timed words stays whole."""
    if not segment.words:
        return [segment]
    return [
        replace(
            segment,
            start=sentence[0].start,
            end=sentence[-1].end,
            text="".join(w.word for w in sentence).strip(),
            words=sentence,
        )
        for sentence in split_sentences(segment.words)
    ]


@dataclass(frozen=True, slots=True)
class Request:
    """What one decoding is asked to do."""

    language: str
    prompt: str | None
    hotwords: tuple[str, ...]
    """The recording's hot words, most specific first; each backend gives them to its
    model as ``options.hotword_text`` writes them."""
    options: Options

    @property
    def hotword_text(self) -> str | None:
        return self.options.hotword_text(self.language, self.hotwords)


class Backend(Protocol):
    """A loaded model. Not thread-safe: the engine serialises calls."""

    @property
    def model_id(self) -> str:
        """``backend:model:compute type``."""
        ...

    @property
    def multilingual(self) -> bool: ...

    def language_probabilities(self, audio: Float32Array, *, vad: bool) -> dict[str, float]:
        """Probability of each language, from the first 30 s of speech."""
        ...

    def decode(self, audio: Float32Array, request: Request) -> list[RawSegment]:
        """Timed segments for ``audio`` (16 kHz mono), times in seconds from its start."""
        ...


def without_copies(
    decoded: list[_Decoded],
    hotwords: tuple[str, ...],
    decode: Callable[[tuple[str, ...]], list[_Decoded]],
    text: Callable[[_Decoded], str],
    at: float,
) -> list[_Decoded]:
    """A window decoded with ``hotwords`` that copies some of them instead of hearing
    the speech (a 19-digit card number read in one breath became "16号、20号、12号、许多少
    统计执法、统计执"), decoded again without the words it copied, and then, if it copies
    others, without any. ``decode(words)`` decodes the window again with ``words``."""
    for attempt in range(2):
        copied = [w for d in decoded for w in copied_hot_words(text(d), hotwords)]
        if not hotwords or not copied:
            break
        hotwords = without_words(hotwords, copied) if attempt == 0 else ()
        _log.info("%.1f s: hot words copied (%s), decoded again", at, "、".join(copied))
        decoded = decode(hotwords)
    return decoded
