"""Word timings on natural Mandarin with a known pause layout: every word the model
times lies inside the stretch of audio its sentence was spoken in, as sox finds the
silences between sentences (an opinion independent of the model)."""

from __future__ import annotations

import difflib

import pytest

import transcriber
from tests.support import report_calls
from tests.support.kokoro import mandarin_call
from tests.support.silences import speech_spans
from transcriber.metrics import chinese_chars

pytestmark = pytest.mark.slow

SENTENCES = [text for _who, text in report_calls.CALLS["hongda"][1:7]]
GAP = 1.6
SLACK = 0.25
"""Seconds a word may reach past its sentence's sound: a word's edges are where the
model's attention moved, not where the waveform crosses a threshold."""


def _sentence_of_each_char(heard: list[str]) -> list[int | None]:
    """For each character of the transcript, the sentence of the script it matches."""
    script: list[str] = []
    owner: list[int] = []
    for i, sentence in enumerate(SENTENCES):
        chars = chinese_chars(report_calls.written(sentence))
        script += chars
        owner += [i] * len(chars)
    out: list[int | None] = [None] * len(heard)
    matcher = difflib.SequenceMatcher(None, heard, script, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            out[a + k] = owner[b + k]
    return out


def test_each_word_lies_inside_its_sentence(base: transcriber.Transcriber) -> None:
    spoken = [report_calls.spoken(s) for s in SENTENCES]
    path = mandarin_call(spoken, voice="zm_yunjian", gap=GAP, edge=0.8)
    spans = speech_spans(path, min_silence=1.0)
    assert len(spans) == len(SENTENCES), spans  # sox hears the layout the call was made with

    result = base.transcribe(path, language="zh")
    words = [w for seg in result.segments for w in seg.words]
    heard: list[str] = []
    word_of_char: list[int] = []
    for i, w in enumerate(words):
        chars = chinese_chars(w.word)
        heard += chars
        word_of_char += [i] * len(chars)
    sentence = _sentence_of_each_char(heard)
    checked: set[int] = set()
    for char, owner in zip(word_of_char, sentence, strict=True):
        if owner is None:
            continue  # a character heard wrong has no sentence to belong to
        w = words[char]
        lo, hi = spans[owner]
        assert lo - SLACK <= w.start <= w.end <= hi + SLACK, (w, SENTENCES[owner], spans[owner])
        checked.add(owner)
    assert checked == set(range(len(SENTENCES)))  # every sentence was heard and timed
    matched = sum(o is not None for o in sentence)
    assert matched >= 0.85 * len(heard), result.text
