"""Waiting, bounded, for something only the database can tell (it sends no events)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(check: Callable[[], Awaitable[bool]], *, within: float = 30) -> None:
    """Poll ``check`` until it holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
