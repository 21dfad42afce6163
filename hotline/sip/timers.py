"""One queue of deadlines for a sans-I/O core: the adapter asks for the earliest and
calls ``run_due(now)`` when it passes (aioquic's one re-armed timer)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

# RFC 3261 §17.1.1.1 defaults.
T1 = 0.5
T2 = 4.0
T4 = 5.0


@dataclass(slots=True)
class TimerHandle:
    when: float
    callback: Callable[[float], None] = field(compare=False)
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class TimerQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, when: float, callback: Callable[[float], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        heapq.heappush(self._heap, (when, next(self._order), handle))
        return handle

    def deadline(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            _, _, handle = heapq.heappop(self._heap)
            if not handle.cancelled:
                handle.cancelled = True
                handle.callback(now)
