"""Run one component on exactly one node: the holder of a lease.

``Leadership(lease, start, stop)`` tries the lease every third of its length. When it
gets it, ``start`` runs (the Asterisk source connects, adopts the calls in progress with
``CoreShowChannels`` and picks up their recordings, as after a restart); when a renewal
fails, or cannot be confirmed before the lease could have run out, ``stop`` runs at
once, before another node may take over. A node that dies without a word (``kill -9``,
power cut) is replaced within one lease length plus one try interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hotline.cluster.lease import Lease, LeaseState

log = logging.getLogger(__name__)


class Leadership:
    def __init__(
        self,
        lease: Lease,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
    ) -> None:
        self.lease = lease
        self._start = start
        self._stop = stop
        self.state: LeaseState | None = None
        self.leading = False
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None
        self._valid_until = 0.0  # monotonic: our lease may have passed on after this
        self.changes = 0

    @property
    def interval(self) -> float:
        return self.lease.seconds / 3

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"lease-{self.lease.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.leading:
            await self._depose("this node is stopping")
            try:
                await self.lease.release()
            except Exception as exc:  # the lease then runs out by itself
                log.warning("could not release the %s lease: %s", self.lease.name, exc)

    async def _run(self) -> None:
        while True:
            asked = time.monotonic()
            try:
                state = await asyncio.wait_for(self.lease.acquire(), self.interval)
                self.last_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state = None
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("cannot renew the %s lease: %s", self.lease.name, self.last_error)
            if state is not None:
                # Counted from before we asked: the database may have granted it then.
                self._valid_until = asked + self.lease.seconds
                self.state = state
                if not self.leading:
                    await self._elect(state)
            elif self.leading:
                await self._depose(self.last_error or "another node holds the lease")
            await self._sleep_watching()

    async def _sleep_watching(self) -> None:
        """Wait for the next try; step down if our lease may run out meanwhile."""
        deadline = time.monotonic() + self.interval
        while True:
            now = time.monotonic()
            if self.leading and now >= self._valid_until - self.interval / 2:
                await self._depose("the lease could not be renewed in time")
            remaining = deadline - now
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, self.interval / 4))

    async def _elect(self, state: LeaseState) -> None:
        log.warning(
            "this node now holds the %s lease (term %d): starting", self.lease.name, state.term
        )
        self.leading = True
        self.changes += 1
        try:
            await self._start()
        except Exception:
            log.exception("starting the %s role failed; giving the lease up", self.lease.name)
            await self._depose("its start failed")
            with contextlib.suppress(Exception):
                await self.lease.release()

    async def _depose(self, reason: str) -> None:
        if not self.leading:
            return
        self.leading = False
        self.changes += 1
        log.warning(
            "this node no longer holds the %s lease (%s): stopping", self.lease.name, reason
        )
        try:
            await self._stop()
        except Exception:
            log.exception("stopping the %s role failed", self.lease.name)

    def health(self) -> dict[str, Any]:
        return {
            "lease": self.lease.name,
            "leader": self.leading,
            "term": self.state.term if self.state else None,
            "node": self.lease.holder,
            "lease_seconds": self.lease.seconds,
            "last_error": self.last_error or None,
        }


class Role(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


class LeadingSource:
    """A call source that runs only on the node holding its lease; a fresh instance at
    each election, so it starts as after a restart (adopting calls in progress)."""

    def __init__(
        self,
        name: str,
        make: Callable[[], Role],
        lease: Lease,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``prepare`` runs at each election before the role starts (bring this node's
        state up to what the previous leader did)."""
        self.name = name
        self._make = make
        self._prepare = prepare
        self._current: Role | None = None
        self.leadership = Leadership(lease, self._begin, self._end)

    async def start(self) -> None:
        await self.leadership.start()

    async def stop(self) -> None:
        await self.leadership.stop()

    @property
    def running(self) -> Role | None:
        return self._current

    async def _begin(self) -> None:
        if self._prepare is not None:
            await self._prepare()
        source = self._make()
        self._current = source
        await source.start()

    async def _end(self) -> None:
        source, self._current = self._current, None
        if source is not None:
            await source.stop()

    def health(self) -> dict[str, Any]:
        lead = self.leadership.health()
        if self._current is not None:
            return {**self._current.health(), **lead}
        # Standing by: another node follows the PBX (or will, within a lease length).
        return {"ok": self.leadership.last_error == "", "state": "standby", **lead}
