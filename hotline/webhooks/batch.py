"""Coalescing: calls made at about the same moment become one batch call.

A worker claims deliveries in batches and starts them together; each then loads its
row and, once delivered, records the result. Done one by one, every delivery pays for
two database transactions; coalesced, a whole batch shares them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """``await coalescer(key)``: the value ``run`` gives for ``key``, where ``run`` is
    called once for all keys asked for within ``window`` seconds. A key ``run`` leaves
    out of its answer gets ``missing(key)`` raised."""

    def __init__(
        self,
        run: Callable[[list[K]], Awaitable[dict[K, V]]],
        missing: Callable[[K], Exception],
        window: float = 0.002,
        max_batch: int = 500,
    ) -> None:
        self._run = run
        self._missing = missing
        self._window = window
        self._max_batch = max_batch
        self._pending: dict[K, list[asyncio.Future[V]]] = {}
        self._flush: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(future)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._later(), name="coalescer-flush")
        return await future

    async def _later(self) -> None:
        await asyncio.sleep(self._window)
        while self._pending:
            keys = list(self._pending)[: self._max_batch]
            waiters = {k: self._pending.pop(k) for k in keys}
            try:
                results = await self._run(keys)
            except BaseException as exc:
                for futures in waiters.values():
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for key, futures in waiters.items():
                for f in futures:
                    if f.done():
                        continue
                    if key in results:
                        f.set_result(results[key])
                    else:
                        f.set_exception(self._missing(key))
