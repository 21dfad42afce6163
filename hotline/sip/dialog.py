"""A dialog (RFC 3261 §12): identifiers, route set, remote target, CSeq spaces, and
what is pending on it; as the UAS of a call we answered (§12.1.1) or the UAC of one we
placed (§12.1.2). Builds the requests we send in it."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hotline.sip.address import URI, Address
from hotline.sip.client import ClientTransaction
from hotline.sip.events import Peer
from hotline.sip.message import Headers, Request
from hotline.sip.timers import TimerHandle

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
"""The methods our dialogs accept (the ``Allow`` header)."""


@dataclass(slots=True)
class Dialog:
    call_id: str
    peer: Peer
    invite_key: str
    local: Address
    remote: Address
    remote_target: URI
    route_set: list[str]
    remote_cseq: int
    local_cseq: int = 0
    state: str = "early"
    """Ours as UAS: early → answered → confirmed → ending. Placed by us: calling →
    proceeding → confirmed → ending."""
    pending: Request | None = None
    """The INVITE whose final response is ours to send, or whose 2xx awaits its ACK."""
    pending_key: str = ""
    final: bytes = b""
    retransmit: TimerHandle | None = None
    ack_deadline: TimerHandle | None = None
    interval: float = 0.0
    bye: ClientTransaction | None = None
    invite: ClientTransaction | None = None
    """The INVITE of a call we placed."""
    cancel: bool = False
    """We gave up on a call we placed before it was answered."""
    session_expires: int = 0
    """The session interval the caller asked for (RFC 4028), in seconds; 0: none."""
    refreshed_at: float = 0.0
    """When its last refresh (or the call) was answered."""

    def request(self, method: str, via: str, user_agent: str) -> Request:
        self.local_cseq += 1
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        headers.add("From", str(self.local))
        headers.add("To", str(self.remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self.local_cseq} {method}")
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("User-Agent", user_agent)
        return Request(headers=headers, body=b"", method=method, uri=str(self.remote_target))

    def destination(self) -> Peer:
        """Where an in-dialog request goes: the first route, else the remote target;
        back to where the call came from when that is a name (no DNS here) or TCP."""
        if self.peer.reliable:
            return self.peer
        target = Address.parse(self.route_set[0]).uri if self.route_set else self.remote_target
        try:
            ipaddress.ip_address(target.host)
        except ValueError:
            return self.peer
        return Peer(self.peer.transport, target.host, target.port or 5060)

    def stop_2xx(self) -> None:
        for handle in (self.retransmit, self.ack_deadline):
            if handle is not None:
                handle.cancel()
        self.retransmit = self.ack_deadline = None
