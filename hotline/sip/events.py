"""What the user agent core tells its adapter (h11-style events), and where bytes go."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.sip.address import URI, Address
from hotline.sip.message import Request


@dataclass(frozen=True, slots=True)
class Peer:
    """A transport address: responses go back where the request came from (RFC 3581)."""

    transport: str
    """``udp`` or ``tcp``."""
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new INVITE; 100 Trying is sent. The adapter must ``answer`` or ``reject`` it."""

    call_id: str
    caller: Address
    callee: URI
    offer: bytes
    """The SDP offer, or empty for an offerless INVITE (our offer goes in the 200)."""
    peer: Peer
    request: Request


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK for a 2xx arrived. ``answer`` is its SDP when we made the offer."""

    call_id: str
    answer: bytes


@dataclass(frozen=True, slots=True)
class OfferReceived:
    """A re-INVITE (hold, resume, session refresh). The adapter must ``accept_offer``
    or ``reject_offer``. An empty ``offer`` asks for ours (the answer comes in the ACK)."""

    call_id: str
    offer: bytes


@dataclass(frozen=True, slots=True)
class OutgoingRinging:
    """A call we placed (``dial``) got a provisional response (180, 183…)."""

    call_id: str
    status: int


@dataclass(frozen=True, slots=True)
class OutgoingAnswered:
    """A call we placed was answered (and acknowledged); ``answer`` is its SDP."""

    call_id: str
    answer: bytes


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The dialog is over (or never got going). ``cause``: ``bye``, ``cancel``,
    ``no-ack``, ``hangup`` (ours, acknowledged or timed out), ``rejected``; for a call
    we placed also ``refused <status>``, ``no answer`` (no response at all),
    ``cancelled``."""

    call_id: str
    cause: str


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    state: str
    """``registering``, ``registered``, ``failed``."""
    detail: str = ""
    expires: int = 0


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """A message we could not use; answered with ``status`` when that was possible."""

    peer: Peer
    detail: str
    status: int | None


Event = (
    IncomingCall
    | OutgoingRinging
    | OutgoingAnswered
    | CallConfirmed
    | OfferReceived
    | CallEnded
    | RegistrationChanged
    | ProtocolViolation
)
