"""A sink that collects call facts, and a way to wait for one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import pytest

from hotline.calls import CallFact

F = TypeVar("F")


class Collector:
    """The ``FactSink`` of these tests: keeps every fact, in order."""

    def __init__(self) -> None:
        self.facts: list[CallFact] = []
        self._changed = asyncio.Condition()

    async def __call__(self, fact: CallFact) -> None:
        async with self._changed:
            self.facts.append(fact)
            self._changed.notify_all()

    def of(self, kind: type[F]) -> list[F]:
        return [f for f in self.facts if isinstance(f, kind)]

    async def wait_for(
        self, kind: type[F], where: Callable[[F], bool] = lambda _: True, count: int = 1
    ) -> list[F]:
        """The first ``count`` facts of ``kind`` that match (bounded by the caller)."""
        async with self._changed:
            while len(found := [f for f in self.of(kind) if where(f)]) < count:
                await self._changed.wait()
            return found[:count]


@pytest.fixture
def collector() -> Collector:
    return Collector()


async def eventually(condition: Callable[[], bool], interval: float = 0.01) -> None:
    """Poll ``condition`` until it holds (the caller bounds the wait): link status has
    no event of its own to wait on."""
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(interval)
