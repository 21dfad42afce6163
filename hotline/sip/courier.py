"""Call facts from the SIP line to the sink: in order, one at a time, retried.

The line emits facts from protocol callbacks that must not wait; the courier queues
them and awaits the sink for each (a slow store never stalls SIP or RTP). A failure is
retried with backoff; after the last attempt the fact is counted as lost. For a
``RecordingFinished`` the courier also holds the recording's spool claim
(``hotline.sip.spool``) and drops it only once the store took the fact, so a recording
whose fact was lost is handed over again at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hotline.calls import CallFact, FactSink, RecordingFinished
from hotline.sip.spool import drop_claim

log = logging.getLogger(__name__)

ATTEMPTS = 5


class FactCourier:
    def __init__(self, sink: FactSink) -> None:
        self._sink = sink
        self._queue: asyncio.Queue[CallFact] = asyncio.Queue()
        self._claims: dict[str, Path] = {}
        self.lost = 0
        """Facts the sink did not take after every attempt."""
        self.closing = False
        """The line is stopping: a failing sink is not waited for again."""

    def emit(self, fact: CallFact) -> None:
        self._queue.put_nowait(fact)

    def claim(self, call_id: str, path: Path) -> None:
        """``path`` is the claim of the call's recording: drop it once its fact is stored."""
        self._claims[call_id] = path

    def forget(self, call_id: str) -> None:
        """Keep the call's claim on disk (the recording is left for the next start)."""
        self._claims.pop(call_id, None)

    async def drain(self, within: float) -> None:
        """Wait until every fact emitted so far was delivered, ``within`` seconds at most."""
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            log.error("SIP line stopped with %d call facts undelivered", self._queue.qsize())

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
                    if isinstance(fact, RecordingFinished):
                        self.forget(fact.call_id)
                    return
                log.exception("the call-fact sink failed (attempt %d); retrying", attempt)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            if isinstance(fact, RecordingFinished):
                claim = self._claims.pop(fact.call_id, None)
                if claim is not None:
                    drop_claim(claim)
            return
