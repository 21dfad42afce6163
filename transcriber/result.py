"""Result types: a transcript is a list of timed segments."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    """Seconds from the start of the audio."""
    end: float
    text: str
    speaker: str | None = None
    """``caller`` / ``operator`` for two-channel recordings, else ``None``."""
    avg_logprob: float | None = None
    no_speech_prob: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Transcript:
    language: str
    duration: float
    """Seconds of audio transcribed."""
    model: str
    """Which model produced it (name or path, backend, compute type)."""
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        joiner = "" if self.language in {"zh", "ja"} else " "
        return joiner.join(s.text.strip() for s in self.segments if s.text.strip())

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "duration": self.duration,
            "model": self.model,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
        }
