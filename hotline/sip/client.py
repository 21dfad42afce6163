"""Client transactions for the requests we send (REGISTER, BYE): RFC 3261 §17.1.2.

On UDP the request is sent again at T1, 2·T1… (capped at T2; at T2 once a provisional
response came) until a final response, and given up after 64·T1 (Timer F).
"""

from __future__ import annotations

from collections.abc import Callable

from hotline.sip.events import Peer
from hotline.sip.message import Request, Response
from hotline.sip.timers import T1, T2, TimerHandle, TimerQueue

Send = Callable[[bytes, Peer], None]
OnResult = Callable[[Response | None, float], None]
"""Called once: with the final response, or with ``None`` on timeout."""


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
    ) -> None:
        self.request = request
        self.peer = peer
        self.done = False
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
            self._interval = self._t2
            return
        self._finish()
        self._on_result(response, now)

    def cancel(self) -> None:
        self._finish()

    def _again(self, now: float) -> None:
        if self.done:
            return
        self._send(self._data, self.peer)
        self._interval = min(self._interval * 2, self._t2)
        self._retransmit = self._timers.at(now + self._interval, self._again)

    def _expire(self, now: float) -> None:
        if not self.done:
            self._finish()
            self._on_result(None, now)

    def _finish(self) -> None:
        self.done = True
        self._timeout.cancel()
        if self._retransmit is not None:
            self._retransmit.cancel()
