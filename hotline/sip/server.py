"""Server transactions (RFC 3261 §17.2): what we answered, kept long enough to answer
retransmissions the same way, and the non-2xx final responses to INVITE that are
resent until their ACK (Timer G) or given up (Timer H). The user agent core owns one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotline.errors import SIPProtocolError
from hotline.sip.events import Peer
from hotline.sip.message import Request
from hotline.sip.timers import T1, T2, TimerHandle, TimerQueue


@dataclass(slots=True)
class ServerTransaction:
    peer: Peer
    response: bytes | None = None
    status: int = 100
    retransmit: TimerHandle | None = None
    interval: float = 0.0


class ServerTransactions:
    def __init__(
        self,
        timers: TimerQueue,
        send: Callable[[bytes, Peer], None],
        t1: float = T1,
        t2: float = T2,
    ) -> None:
        self._timers = timers
        self._send = send
        self._t1, self._t2 = t1, t2
        self._by_key: dict[str, ServerTransaction] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def open(self, key: str, peer: Peer) -> ServerTransaction:
        return self._by_key.setdefault(key, ServerTransaction(peer))

    def repeat(self, key: str) -> bool:
        """A retransmitted request: send our last response again. False if it is new."""
        txn = self._by_key.get(key)
        if txn is None:
            return False
        if txn.response is not None:
            self._send(txn.response, txn.peer)
        return True

    def acknowledged(self, key: str) -> bool:
        """An ACK for a non-2xx final response: stop resending it (§17.2.1)."""
        txn = self._by_key.get(key)
        if txn is None or txn.status < 300:
            return False
        if txn.retransmit is not None:
            txn.retransmit.cancel()
        return True

    def answer(
        self, key: str, peer: Peer, data: bytes, status: int, now: float, *, invite: bool
    ) -> None:
        """Send a response and remember it for the transaction's lifetime."""
        txn = self.open(key, peer)
        txn.response, txn.status = data, status
        self._send(data, peer)
        if not invite:  # Timer J: 64·T1 on UDP, nothing to absorb on TCP (§17.2.2)
            self._forget(key, now + (0.0 if peer.reliable else 64 * self._t1))
        elif status >= 200:
            if status >= 300 and not peer.reliable:
                txn.interval = self._t1
                txn.retransmit = self._timers.at(now + txn.interval, lambda t: self._again(txn, t))
            self._forget(key, now + 64 * self._t1)  # Timer H; for a 2xx, RFC 6026's Accepted

    def _again(self, txn: ServerTransaction, now: float) -> None:
        assert txn.response is not None
        self._send(txn.response, txn.peer)
        txn.interval = min(txn.interval * 2, self._t2)
        txn.retransmit = self._timers.at(now + txn.interval, lambda t: self._again(txn, t))

    def _forget(self, key: str, when: float) -> None:
        def drop(_now: float) -> None:
            txn = self._by_key.pop(key, None)
            if txn is not None and txn.retransmit is not None:
                txn.retransmit.cancel()

        self._timers.at(when, drop)


def transaction_key(request: Request, method: str | None = None) -> str:
    """§17.2.3: ACK and CANCEL match their INVITE's transaction (``method="INVITE"``)."""
    via = request.top_via
    kind = method or ("INVITE" if request.method in ("INVITE", "ACK") else request.method)
    if via.branch.startswith("z9hG4bK"):
        return f"{via.branch}|{via.host}:{via.port}|{kind}"
    # RFC 2543 peers have no magic cookie: match on the request's identity instead.
    return f"{request.call_id}|{request.from_.tag}|{request.cseq.number}|{via.host}|{kind}"


def check_body(request: Request) -> None:
    if request.body and request.content_type != "application/sdp":
        raise SIPProtocolError(
            f"body of type {request.content_type!r}", 415, "Unsupported Media Type"
        )
