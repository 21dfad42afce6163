"""Live state for people watching: the calls in progress and a stream of what changes.

``LiveFeed`` keeps the ``CallBook`` and fans every change out to subscribers (the
web's server-sent events). A subscriber that cannot keep up loses its oldest queued
updates rather than slowing the call sources down.

May import: ``hotline.calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from hotline.calls import CallBook, CallFact, LiveCall


@dataclass(frozen=True, slots=True)
class Update:
    id: int
    event: str
    """``call`` (a live call changed) or ``case`` (a case was opened or changed)."""
    data: dict[str, Any]


class LiveFeed:
    def __init__(self, queue_size: int = 256) -> None:
        self.book = CallBook()
        self._subscribers: set[asyncio.Queue[Update]] = set()
        self._ids = itertools.count(1)
        self._queue_size = queue_size

    def apply(self, fact: CallFact) -> LiveCall | None:
        call = self.book.apply(fact)
        if call is not None:
            self.publish("call", call.to_dict())
        return call

    def publish(self, event: str, data: dict[str, Any]) -> None:
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
