"""The call lifecycle shared by every call source.

Call sources (``hotline.ami``, ``hotline.sip``, and ``hotline ingest``) describe what
happens on a call with the same small set of *facts*; nothing downstream knows which
source produced them. This module owns those facts and ``CallBook``, the pure
(in-memory, I/O-free) state machine that follows live calls, knows whether each one is
being recorded, and checks that every answered call was recorded in full.

May import: ``hotline.errors``. Must not import the store, the web or any source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

_EMPTY: Mapping[str, str] = MappingProxyType({})


class IncidentKind(StrEnum):
    """What went wrong with a call's recording or its source."""

    UNRECORDED = "call.unrecorded"
    """An answered hotline call had no recording running and none could be started."""
    INCOMPLETE = "recording.incomplete"
    """The recording is shorter than the call it should cover, or unusable."""
    ORPHANED = "recording.orphaned"
    """A finished recording file that no known call points to (adopted as a case)."""
    SOURCE_DOWN = "source.down"
    """A call source (the PBX link, the SIP line) stopped working."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted:
    """A call reached the hotline (ringing; not answered yet)."""

    call_id: str
    """Unique within its source: the AMI ``Linkedid``, the SIP ``Call-ID``."""
    source: str
    """``asterisk``, ``sip`` or ``import``."""
    at: datetime
    caller: str
    """The caller ID exactly as the network gave it."""
    callee: str = ""
    caller_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered:
    call_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted:
    call_id: str
    at: datetime
    name: str
    """The recording's file name as the source knows it (may be a PBX-side path)."""
    leg: str = "mix"
    """``mix`` (both parties), ``caller`` or ``operator``; ``message`` for a message the
    caller left when no operator answered (the Asterisk dialplan's ``Record()``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished:
    """A recording file is complete and closed; it can be sealed."""

    call_id: str
    at: datetime
    path: Path
    """Where this process can read the closed file."""
    started_at: datetime
    expected_duration: float | None = None
    """Seconds the source believes the recording should span (answer or start to
    hangup); ``None`` when it cannot tell. Used for the completeness check."""
    leg: str = "mix"
    sequence: int = 0
    """Order of this recording within its call (transfers split a call's recording)."""
    details: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Source-specific facts kept with the recording (packets lost, notice played…)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    call_id: str
    at: datetime
    answered: bool
    cause: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    kind: IncidentKind
    at: datetime
    detail: str
    call_id: str | None = None


CallFact: TypeAlias = (
    CallStarted | CallAnswered | RecordingStarted | RecordingFinished | CallEnded | Incident
)
FactSink: TypeAlias = Callable[[CallFact], Awaitable[None]]
"""Where a call source sends its facts."""


@dataclass(slots=True)
class LiveCall:
    """What an operator sees of a call in progress."""

    call_id: str
    source: str
    caller: str
    callee: str
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    recording: bool = False
    """A recording is running right now."""
    recorded: bool = False
    """At least one recording of this call was started."""
    incidents: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "answered" if self.answered_at is not None else "ringing"

    @property
    def unrecorded(self) -> bool:
        """Answered and nothing is recording it: the state nobody may miss."""
        return self.answered_at is not None and self.ended_at is None and not self.recording

    def to_dict(self) -> dict[str, object]:
        return {
            "call_id": self.call_id,
            "source": self.source,
            "caller": self.caller,
            "callee": self.callee,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "recording": self.recording,
            "recorded": self.recorded,
            "unrecorded": self.unrecorded,
            "incidents": list(self.incidents),
        }


class CallBook:
    """The calls in progress, kept current by the facts the sources emit. Pure state."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}

    def apply(self, fact: CallFact) -> LiveCall | None:
        """Update the book; return the call the fact changed (``None`` if none)."""
        if isinstance(fact, CallStarted):
            call = self._calls.get(fact.call_id)
            if call is None:
                call = LiveCall(fact.call_id, fact.source, fact.caller, fact.callee, fact.at)
                self._calls[fact.call_id] = call
            return call
        call_id = fact.call_id
        call = self._calls.get(call_id) if call_id is not None else None
        if call is None:
            return None
        match fact:
            case CallAnswered():
                call.answered_at = call.answered_at or fact.at
            case RecordingStarted():
                call.recording = call.recorded = True
            case RecordingFinished():
                call.recording = False
                call.recorded = True
            case CallEnded():
                call.ended_at = fact.at
                call.recording = False
                del self._calls[call.call_id]
            case Incident():
                call.incidents.append(str(fact.kind))
        return call

    def live(self) -> list[LiveCall]:
        return sorted(self._calls.values(), key=lambda c: c.started_at)

    def get(self, call_id: str) -> LiveCall | None:
        return self._calls.get(call_id)
