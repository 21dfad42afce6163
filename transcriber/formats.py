"""Transcripts as files people use: SRT and WebVTT subtitles, JSON, plain text."""

from __future__ import annotations

import json

from transcriber.result import Segment, Transcript


def timestamp(seconds: float, *, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (WebVTT) or, with ``separator=","``, ``HH:MM:SS,mmm`` (SRT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _cue_text(segment: Segment) -> str:
    # A cue's text ends at the first blank line; keep every cue on one line.
    return " ".join(segment.text.split())


def to_srt(transcript: Transcript) -> str:
    """SubRip: numbered cues; the speaker, when known, leads the text in brackets."""
    cues = []
    for number, s in enumerate(transcript.segments, 1):
        who = f"[{s.speaker}] " if s.speaker else ""
        start, end = timestamp(s.start, separator=","), timestamp(s.end, separator=",")
        cues.append(f"{number}\n{start} --> {end}\n{who}{_cue_text(s)}\n")
    return "\n".join(cues)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT: the speaker, when known, as a voice span (``<v caller>``)."""
    cues = ["WEBVTT\n"]
    for s in transcript.segments:
        text = _cue_text(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if s.speaker:
            text = f"<v {s.speaker}>{text}"
        cues.append(f"{timestamp(s.start)} --> {timestamp(s.end)}\n{text}\n")
    return "\n".join(cues)


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.to_dict(), ensure_ascii=False, indent=2) + "\n"


def to_text(transcript: Transcript) -> str:
    """The words for reading: one line per speaker turn where speakers are known."""
    return transcript.dialogue + "\n"
