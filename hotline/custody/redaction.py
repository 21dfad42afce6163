"""A transcript's redaction for a copy: the text of each segment redacted, and the time
spans of the words that carried what was redacted (from the transcriber's word timings,
``segments[i]["words"]``), which become tones in the recording copy.

Word timings are matched to the segment's text by aligning the characters of the two
(the text may have been converted, cleaned or corrected since the words were
recognised). A segment without word timings (older transcripts), or whose redacted
characters no word covers, is bleeped whole: better a longer tone than a number heard.

Pure: segments in, redacted segments and spans out.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotline.custody.redact_audio import Span
from hotline.custody.redact_text import (
    Context,
    Kind,
    apply,
    find,
    merge,
    split_number,
)

PAD_SECONDS = 0.25
"""Word timings are approximate: each bleep reaches this far beyond its words."""


@dataclass(frozen=True, slots=True)
class Redacted:
    segments: list[dict[str, Any]]
    """Start, end, speaker and redacted text; no word list (it holds the values)."""
    spans: list[tuple[Kind, Span]]
    """Seconds in the recording the segments came from."""
    text_findings: list[tuple[int, Kind]]
    """(segment index, kind) of each finding in the text."""


def _word_text(word: dict[str, Any]) -> str:
    return str(word.get("word", ""))


def word_spans(text: str, words: Sequence[dict[str, Any]], lo: int, hi: int) -> list[Span]:
    """The time spans of the words that carry ``text[lo:hi]``."""
    joined, owner = [], []
    for index, word in enumerate(words):
        for ch in _word_text(word):
            joined.append(ch)
            owner.append(index)
    matcher = difflib.SequenceMatcher(None, text, "".join(joined), autojunk=False)
    hit: set[int] = set()
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            if lo <= a + k < hi:
                hit.add(owner[b + k])
    if not hit:
        return []
    # The words between the first and the last hit carry the span too (a digit the
    # recogniser spelled differently matches nothing, but was still spoken there).
    first, last = min(hit), max(hit)
    return [
        Span(float(words[i]["start"]), float(words[i]["end"]))
        for i in range(first, last + 1)
        if "start" in words[i] and "end" in words[i]
    ]


SPLIT_GAP_SECONDS = 2.0
"""Two segments this close, of one speaker and one recording, can hold one number between
them (a caller pausing inside it); further apart, digits at the end of one and the start
of the next are two things said."""


def _continues(first: dict[str, Any], second: dict[str, Any]) -> bool:
    try:
        gap = float(second["start"]) - float(first["end"])
    except (KeyError, TypeError, ValueError):
        return False
    same = all(first.get(key) == second.get(key) for key in ("speaker", "recording_id"))
    return same and 0.0 <= gap <= SPLIT_GAP_SECONDS


def redact_segments(
    segments: Sequence[dict[str, Any]], context: Context, *, language: str = "zh"
) -> Redacted:
    out: list[dict[str, Any]] = []
    spans: list[tuple[Kind, Span]] = []
    found: list[tuple[int, Kind]] = []
    texts = [str(segment.get("text", "")) for segment in segments]
    each = [find(text, context) for text in texts]
    for index in range(1, len(segments)):
        if _continues(segments[index - 1], segments[index]):
            split = split_number(texts[index - 1], texts[index], context)
            if split is not None:
                each[index - 1] = merge([*each[index - 1], split[0]])
                each[index] = merge([*each[index], split[1]])
    for index, segment in enumerate(segments):
        text, findings = texts[index], each[index]
        redacted = apply(text, findings, language=language)
        start, end = float(segment["start"]), float(segment["end"])
        words = [w for w in segment.get("words") or [] if isinstance(w, dict)]
        for f in findings:
            found.append((index, f.kind))
            covered = word_spans(text, words, f.start, f.end) if words else []
            if not covered:
                covered = [Span(start, end)]
            lo = max(0.0, min(s.start for s in covered) - PAD_SECONDS)
            hi = max(s.end for s in covered) + PAD_SECONDS
            spans.append((f.kind, Span(lo, hi)))
        out.append(
            {
                "start": start,
                "end": end,
                "speaker": segment.get("speaker"),
                "text": redacted,
                "recording_id": segment.get("recording_id"),
            }
        )
    return Redacted(out, spans, found)
