"""Call facts from a call source to the sink: in order, one at a time, retried.

A source emits facts from callbacks that must not wait (an AMI event, a SIP message);
the courier queues them and awaits the sink for each, so a slow store never stalls the
protocol. A failure is retried with backoff; after the last attempt the fact is
counted as lost. ``stored`` and ``lost`` hooks let a source keep its own books (the
Asterisk source's ledger of handed-over files, the SIP line's spool claims).

May import ``hotline.calls`` only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hotline.calls import CallFact, FactSink

log = logging.getLogger(__name__)

ATTEMPTS = 5
Hook = Callable[[CallFact], Awaitable[None]]


async def _nothing(fact: CallFact) -> None:
    return None


class FactCourier:
    def __init__(self, sink: FactSink, *, stored: Hook = _nothing, lost: Hook = _nothing) -> None:
        self._sink = sink
        self._stored = stored
        self._lost = lost
        self._queue: asyncio.Queue[CallFact] = asyncio.Queue()
        self.delivered = 0
        self.lost = 0
        """Facts the sink did not take after every attempt."""
        self.last_at: datetime | None = None
        """When the sink last took a fact."""
        self.closing = False
        """The source is stopping: a failing sink is not waited for again."""

    def emit(self, fact: CallFact) -> None:
        self._queue.put_nowait(fact)

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def drain(self, within: float) -> None:
        """Wait until every fact emitted so far was delivered, ``within`` seconds at most."""
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            log.error("stopping with %d call fact(s) not delivered", self._queue.qsize())

    async def run(self) -> None:
        while True:
            fact = await self._queue.get()
            try:
                await self._deliver(fact)
            finally:
                self._queue.task_done()

    async def _deliver(self, fact: CallFact) -> None:
        delay = 0.5
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._sink(fact)
            except Exception:
                if attempt == ATTEMPTS or self.closing:
                    self.lost += 1
                    log.exception("call fact not stored after %d attempts: %r", attempt, fact)
                    await self._lost(fact)
                    return
                log.exception("the call-fact sink failed (attempt %d); retrying", attempt)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            self.delivered += 1
            self.last_at = datetime.now(UTC)
            await self._stored(fact)
            return
