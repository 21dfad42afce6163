"""Client transactions for the requests we send: RFC 3261 §17.1.

Non-INVITE (REGISTER, BYE, CANCEL; §17.1.2): on UDP the request is sent again at T1,
2·T1… (capped at T2; at T2 once a provisional response came) until a final response,
and given up after 64·T1 (Timer F). INVITE (§17.1.1): sent again at T1, 2·T1… until
any response; a provisional one ends the retransmissions and Timer B (the caller of
``dial`` bounds the ringing); a final non-2xx is acknowledged here (``ack``), a 2xx by
the dialog.
"""

from __future__ import annotations

from collections.abc import Callable

from hotline.sip.events import Peer
from hotline.sip.message import Headers, Request, Response
from hotline.sip.timers import T1, T2, TimerHandle, TimerQueue

Send = Callable[[bytes, Peer], None]
OnResult = Callable[[Response | None, float], None]
"""Called once: with the final response, or with ``None`` on timeout."""
OnProvisional = Callable[[Response, float], None]


class ClientTransaction:
    def __init__(
        self,
        request: Request,
        peer: Peer,
        *,
        timers: TimerQueue,
        send: Send,
        on_result: OnResult,
        now: float,
        t1: float = T1,
        t2: float = T2,
        on_provisional: OnProvisional | None = None,
    ) -> None:
        self.request = request
        self.peer = peer
        self.done = False
        self.invite = request.method == "INVITE"
        self.ack: bytes = b""
        """For an INVITE answered with a non-2xx: the ACK sent (sent again on repeats)."""
        self._on_provisional = on_provisional
        self._data = bytes(request)
        self._send = send
        self._timers = timers
        self._on_result = on_result
        self._t2 = t2
        self._interval = t1
        self._retransmit: TimerHandle | None = None
        send(self._data, peer)
        if not peer.reliable:
            self._retransmit = timers.at(now + t1, self._again)
        self._timeout = timers.at(now + 64 * t1, self._expire)

    @property
    def branch(self) -> str:
        return self.request.top_via.branch

    def receive(self, response: Response, now: float) -> None:
        if self.done:
            return
        if response.status < 200:
            if self.invite:  # Proceeding: no more retransmissions, no Timer B
                self._finish_timers()
            else:
                self._interval = self._t2
            if self._on_provisional is not None:
                self._on_provisional(response, now)
            return
        if self.invite and response.status >= 300:
            self.ack = bytes(non_2xx_ack(self.request, response))
            self._send(self.ack, self.peer)
        self._finish()
        self._on_result(response, now)

    def cancel(self) -> None:
        self._finish()

    def _again(self, now: float) -> None:
        if self.done:
            return
        self._send(self._data, self.peer)
        # Timer A doubles without a cap (§17.1.1.2); Timer E stops at T2 (§17.1.2.2).
        self._interval = self._interval * 2 if self.invite else min(self._interval * 2, self._t2)
        self._retransmit = self._timers.at(now + self._interval, self._again)

    def _expire(self, now: float) -> None:
        if not self.done:
            self._finish()
            self._on_result(None, now)

    def _finish(self) -> None:
        self.done = True
        self._finish_timers()

    def _finish_timers(self) -> None:
        self._timeout.cancel()
        if self._retransmit is not None:
            self._retransmit.cancel()


def non_2xx_ack(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK for a final non-2xx answer, in the INVITE's transaction."""
    return _in_transaction(invite, "ACK", to=response.headers.get("To") or "")


def cancel_for(invite: Request) -> Request:
    """§9.1: a CANCEL for ``invite`` (same branch, Call-ID, From, To, CSeq number)."""
    return _in_transaction(invite, "CANCEL", to=invite.headers.get("To") or "")


def _in_transaction(invite: Request, method: str, *, to: str) -> Request:
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    headers.add("Max-Forwards", "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} {method}")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    return Request(headers=headers, body=b"", method=method, uri=invite.uri)
