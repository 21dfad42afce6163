"""Word timings kept true to the text they belong to.

The model times the words it wrote. The text a reader sees is that text cleaned
(Simplified Chinese, full-width punctuation, a prompt echo cut, a loop collapsed,
digits written as digits) or corrected by a person. ``fit`` re-cuts the timed words so
that they spell the final text exactly, each keeping the time of the audio it came
from: redaction and playback can then go from any stretch of the text to the seconds
that hold it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from transcriber.result import Word


def fit(words: Sequence[Word], text: str, *, edited: bool = False) -> tuple[Word, ...]:
    """``words`` re-cut so that their texts, joined, are ``text``.

    Characters the words and the text share keep their word. A stretch of the text
    that replaced a stretch of the words (``一三八`` -> ``138``, a correction) takes the
    time of the words it replaced, spread over them in proportion; text inserted
    between words joins the word before it (the first word, at the start). Words whose
    every character was removed (a prompt echo) are gone. With ``edited`` (a person's
    correction), a word whose text changed loses its model probability.
    """
    if not words or not text:
        return ()
    source = "".join(w.word for w in words)
    owner_of_source = [i for i, w in enumerate(words) for _ in w.word]
    owner: list[int | None] = [None] * len(text)
    matcher = difflib.SequenceMatcher(None, source, text, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                owner[j1 + k] = owner_of_source[i1 + k]
        elif tag == "replace":
            for k in range(j2 - j1):
                owner[j1 + k] = owner_of_source[i1 + k * (i2 - i1) // (j2 - j1)]
    known = [o for o in owner if o is not None]
    if not known:
        return ()
    previous = known[0]
    for j, o in enumerate(owner):
        if o is None:
            owner[j] = previous
        else:
            previous = o
    out: list[Word] = []
    start = 0
    for j in range(1, len(text) + 1):
        if j == len(text) or owner[j] != owner[start]:
            w = words[owner[start] or 0]
            piece = text[start:j]
            probability = w.probability
            if edited and piece.strip() != w.word.strip():
                probability = None
            out.append(Word(w.start, w.end, piece, probability))
            start = j
    return tuple(out)


def gaps(
    spans: Sequence[tuple[float, float]], duration: float, *, longer_than: float
) -> list[tuple[float, float]]:
    """The stretches of ``duration`` seconds that none of ``spans`` (the words' start
    and end) covers, longer than ``longer_than``: before the first word, between
    words, after the last."""
    out: list[tuple[float, float]] = []
    reached = 0.0
    for start, end in sorted(spans):
        if start - reached > longer_than:
            out.append((reached, start))
        reached = max(reached, end)
    if duration - reached > longer_than:
        out.append((reached, duration))
    return out


def timed(start: float, end: float, word: str, probability: float | None) -> Word:
    """A word as a backend reports it, rounded: milliseconds, three decimals."""
    p = None if probability is None else round(float(probability), 3)
    return Word(round(float(start), 3), round(float(end), 3), str(word), p)


SOUND_DBFS = -45.0
"""A 10 ms frame louder than this (RMS, dB full scale) holds sound: a line's noise floor
is -60 to -45 dBFS, speech -30 to -10."""
_FRAME = 0.01


def on_sound(words: Sequence[Word], samples: Any, rate: int) -> tuple[Word, ...]:
    """``words`` with their edges moved off silence: no word starts before the first
    sound in its span, or ends after the last.

    The alignment puts the first word after a pause where the pause began (measured:
    0.2-0.4 s early on natural Mandarin), since nothing in the text marks the pause;
    the waveform does. A word with no sound in its span keeps its times."""
    import numpy as np

    out: list[Word] = []
    floor = 10 ** (SOUND_DBFS / 20)
    step = int(rate * _FRAME)
    for w in words:
        a, b = int(w.start * rate), int(w.end * rate)
        span = np.asarray(samples[a:b], dtype=np.float64)
        frames = len(span) // step
        if frames < 2:
            out.append(w)
            continue
        rms = np.sqrt(np.mean(np.square(span[: frames * step].reshape(frames, step)), axis=1))
        loud = np.flatnonzero(rms > floor)
        if loud.size == 0:
            out.append(w)
            continue
        start = round(w.start + loud[0] * _FRAME, 3)
        end = round(min(w.end, w.start + (loud[-1] + 1) * _FRAME), 3)
        out.append(Word(start, max(end, start), w.word, w.probability))
    return tuple(out)
