"""Result types: a transcript is a list of timed segments, each with its speaker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from transcriber.chinese import ENDS_CHINESE, STARTS_CHINESE, has_cjk
from transcriber.numbers import Number


@dataclass(frozen=True, slots=True)
class Word:
    """A word (in Chinese, a character or a few) and when it was said.

    Times are seconds from the start of the recording, as the model's cross-attention
    alignment puts them. The ``word`` texts of a segment, joined, spell the segment's
    text exactly (English words carry their leading space; the first one's is cut)."""

    start: float
    end: float
    word: str
    probability: float | None = None
    """How sure the model was of this word; ``None`` where a person changed it."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        p = data.get("probability")
        return cls(
            float(data["start"]),
            float(data["end"]),
            str(data["word"]),
            None if p is None else float(p),
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech and what was said in it."""

    start: float
    """Seconds from the start of the recording."""
    end: float
    text: str
    speaker: str | None = None
    """``caller`` / ``operator`` for two-channel or two-leg recordings, else ``None``."""
    avg_logprob: float | None = None
    """Mean log-probability of the decoded tokens: near 0 sure, below -1 unsure."""
    no_speech_prob: float | None = None
    """The model's probability that this stretch holds no speech at all."""
    compression_ratio: float | None = None
    """gzip ratio of the text; above ~2.4 the model is repeating itself."""
    words: tuple[Word, ...] = ()
    """The segment's words with their times; together they spell ``text``."""
    numbers: tuple[Number, ...] = ()
    """The digit strings in ``text`` (five digits or more): kind, digits, and whether
    each is probably heard wrong (``transcriber.numbers``)."""

    @property
    def uncertain_numbers(self) -> tuple[Number, ...]:
        return tuple(n for n in self.numbers if n.uncertain)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["words"] = [w.to_dict() for w in self.words]
        out["numbers"] = [n.to_dict() for n in self.numbers]
        return out


@dataclass(frozen=True, slots=True)
class Dropped:
    """A segment the model produced that the guards removed, and why (kept for audit)."""

    start: float
    end: float
    text: str
    reason: str
    """``no-speech``, ``silence``, ``hallucination``, ``prompt-echo``, ``hotword-echo``,
    ``repetition``, ``empty``."""
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def join_texts(parts: Iterable[str]) -> str:
    """Join segment texts: no space between Chinese pieces, one space otherwise."""
    out = ""
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if out and not (_ends_cjk(out) and _starts_cjk(part)):
            out += " "
        out += part
    return out


def _ends_cjk(text: str) -> bool:
    return has_cjk(text[-1]) or text[-1] in ENDS_CHINESE


def _starts_cjk(text: str) -> bool:
    return has_cjk(text[0]) or text[0] in STARTS_CHINESE


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in one recording, segment by segment, in time order."""

    language: str
    """ISO 639-1 code of the language transcribed (``zh``, ``en``, …)."""
    duration: float
    """Seconds of audio transcribed."""
    model: str
    """Which model produced it: ``backend:model:compute type``."""
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    language_probability: float | None = None
    """How sure language detection was (``None`` when the language was given)."""
    dropped: tuple[Dropped, ...] = field(default_factory=tuple)
    """Segments removed as silence, hallucination or prompt echo."""
    voiced_seconds: float | None = None
    """Seconds of the recording in which voice activity detection heard voice (all
    tracks together, overlaps counted once). Measured when the transcript is empty or
    mostly dropped (``needs_notice``), else ``None``."""

    @property
    def kept_seconds(self) -> float:
        return round(sum(max(0.0, s.end - s.start) for s in self.segments), 3)

    @property
    def dropped_seconds(self) -> float:
        return round(sum(max(0.0, d.end - d.start) for d in self.dropped), 3)

    @property
    def needs_notice(self) -> bool:
        """Nothing kept, or the guards dropped more speech time than they kept: a reader
        should be told what was dropped and why before trusting the text."""
        return not self.segments or self.dropped_seconds > self.kept_seconds

    def drop_report(self) -> dict[str, Any]:
        """What the guards dropped, per reason, against what was kept and heard."""
        reasons: dict[str, dict[str, Any]] = {}
        for d in self.dropped:
            entry = reasons.setdefault(d.reason, {"segments": 0, "seconds": 0.0})
            entry["segments"] += 1
            entry["seconds"] = round(entry["seconds"] + max(0.0, d.end - d.start), 3)
        return {
            "needs_notice": self.needs_notice,
            "kept_segments": len(self.segments),
            "kept_seconds": self.kept_seconds,
            "dropped_segments": len(self.dropped),
            "dropped_seconds": self.dropped_seconds,
            "reasons": reasons,
            "voiced_seconds": self.voiced_seconds,
            "duration": self.duration,
        }

    @property
    def text(self) -> str:
        """All the words, in time order, without speaker labels."""
        return join_texts(s.text for s in self.segments)

    @property
    def speakers(self) -> tuple[str, ...]:
        """The speaker labels present, in order of first appearance."""
        return tuple(dict.fromkeys(s.speaker for s in self.segments if s.speaker))

    @property
    def dialogue(self) -> str:
        """One line per turn, ``speaker: words``; the plain text when there are no speakers."""
        if not self.speakers:
            return self.text
        lines: list[tuple[str, list[str]]] = []
        for s in self.segments:
            who = s.speaker or "?"
            if lines and lines[-1][0] == who:
                lines[-1][1].append(s.text)
            else:
                lines.append((who, [s.text]))
        return "\n".join(f"{who}: {join_texts(texts)}" for who, texts in lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_probability": self.language_probability,
            "duration": self.duration,
            "model": self.model,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
            "dropped": [d.to_dict() for d in self.dropped],
            "voiced_seconds": self.voiced_seconds,
            "drops": self.drop_report(),
        }
