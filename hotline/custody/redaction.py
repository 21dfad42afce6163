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
from hotline.custody.redact_text import Context, Kind, redact

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


def redact_segments(
    segments: Sequence[dict[str, Any]], context: Context, *, language: str = "zh"
) -> Redacted:
    out: list[dict[str, Any]] = []
    spans: list[tuple[Kind, Span]] = []
    found: list[tuple[int, Kind]] = []
    for index, segment in enumerate(segments):
        text = str(segment.get("text", ""))
        redacted, findings = redact(text, context, language=language)
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
