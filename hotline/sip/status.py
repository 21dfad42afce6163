"""What the SIP line tells ``/api/health`` and ``/api/calls/live``: plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LiveCallStatus:
    call_id: str
    caller: str
    state: str
    since: datetime
    transport: str


@dataclass(frozen=True, slots=True)
class RegistrationStatus:
    state: str
    registrar: str
    last_error: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SIPLineStatus:
    running: bool
    listening: tuple[str, ...]
    registration: RegistrationStatus | None
    live_calls: tuple[LiveCallStatus, ...]
    rejected_messages: int = 0
    facts_lost: int = 0
    """Call facts the store did not take after every retry (recordings among them are
    handed over again at the next start)."""
    recovered: int = 0
    """Recordings an earlier run left behind, handed over at this start."""
