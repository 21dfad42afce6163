"""Speech models behind one interface: faster-whisper (default) and openai-whisper.

A backend turns 16 kHz mono float32 samples into raw timed segments with the
model's confidence signals. Everything after that (Chinese conversion, guards,
speaker merging) is the engine's and is the same for every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from transcriber.options import Options
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


@dataclass(frozen=True, slots=True)
class Word:
    """A word (or, in Chinese, a character or two) and when it was said."""

    start: float
    end: float
    text: str
    """As the tokenizer wrote it: English words carry their leading space."""


_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")


def split_sentences(
    words: Sequence[Word], *, max_gap: float = 1.0
) -> list[tuple[float, float, str]]:
    """Group timed words into sentences: ``(start, end, text)`` each.

    A sentence ends after a word ending in ., ?, ! (or their full-width forms), and
    wherever the speaker paused longer than ``max_gap`` seconds, which is where VAD
    cut out a silence, and often where the other party spoke.
    """
    out: list[tuple[float, float, str]] = []
    current: list[Word] = []
    for word in words:
        if current and word.start - current[-1].end > max_gap:
            out.append(_sentence(current))
            current = []
        current.append(word)
        if word.text.strip().endswith(_SENTENCE_END):
            out.append(_sentence(current))
            current = []
    if current:
        out.append(_sentence(current))
    return [s for s in out if s[2]]


def _sentence(words: list[Word]) -> tuple[float, float, str]:
    return words[0].start, words[-1].end, "".join(w.text for w in words).strip()


@dataclass(frozen=True, slots=True)
class Request:
    """What one decoding is asked to do."""

    language: str
    prompt: str | None
    hotwords: str | None
    options: Options


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
