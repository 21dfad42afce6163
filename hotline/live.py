"""Live state for people watching: the calls in progress and a stream of what changes.

``LiveFeed`` keeps the ``CallBook`` and fans every change out to subscribers (the
web's server-sent events). A subscriber that cannot keep up loses its oldest queued
updates rather than slowing the call sources down.

With several nodes, each node's changes also go to a ``relay`` (PostgreSQL
``LISTEN/NOTIFY``, ``hotline.cluster.relay``), and what other nodes relay comes in
through ``receive``: their live calls are kept beside this node's own, so every node
shows every call.

May import: ``hotline.calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from hotline.calls import CallBook, CallFact, LiveCall


@dataclass(frozen=True, slots=True)
class Update:
    id: int
    event: str
    """``call`` (a live call changed) or ``case`` (a case was opened or changed)."""
    data: dict[str, Any]


Relay = Callable[[str, dict[str, Any]], None]
"""Takes this node's updates (event, data) to the other nodes."""


class LiveFeed:
    def __init__(self, queue_size: int = 256) -> None:
        self.book = CallBook()
        self.relay: Relay | None = None
        self._remote: dict[str, tuple[str, dict[str, Any]]] = {}
        """Calls other nodes follow: call id → (node, the call as that node sent it)."""
        self._subscribers: set[asyncio.Queue[Update]] = set()
        self._ids = itertools.count(1)
        self._queue_size = queue_size

    def apply(self, fact: CallFact) -> LiveCall | None:
        call = self.book.apply(fact)
        if call is not None:
            self._remote.pop(call.call_id, None)  # this node follows it now
            self.publish("call", call.to_dict())
        return call

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """An update made on this node: to local subscribers and the other nodes."""
        self._fan_out(event, data)
        if self.relay is not None:
            self.relay(event, data)

    def receive(self, node: str, event: str, data: dict[str, Any]) -> None:
        """An update another node relayed."""
        if event == "call":
            call_id = str(data.get("call_id", ""))
            if not call_id or self.book.get(call_id) is not None:
                return
            if data.get("state") == "ended":
                self._remote.pop(call_id, None)
            else:
                self._remote[call_id] = (node, data)
        self._fan_out(event, data)

    def forget_node(self, node: str) -> None:
        """A node stopped relaying. Calls another node adopted were relayed by it
        already; the ones still that node's ended with it (``node_lost``)."""
        for call_id in [c for c, (n, _) in self._remote.items() if n == node]:
            _, data = self._remote.pop(call_id)
            self._fan_out("call", {**data, "state": "ended", "node_lost": True})

    def calls(self) -> list[dict[str, Any]]:
        """Every live call, this node's and the other nodes', oldest first."""
        mine = [c.to_dict() for c in self.book.live()]
        others = [data for _, data in self._remote.values()]
        return sorted([*mine, *others], key=lambda c: str(c.get("started_at", "")))

    def knows(self, call_id: str) -> bool:
        return self.book.get(call_id) is not None or call_id in self._remote

    def _fan_out(self, event: str, data: dict[str, Any]) -> None:
        update = Update(next(self._ids), event, data)
        for queue in self._subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(update)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self) -> AsyncIterator[Update]:
        """Updates from now on, until the consumer stops iterating."""
        queue: asyncio.Queue[Update] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
