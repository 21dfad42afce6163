"""The open event streams of one web app, so a shutdown can end them at once instead
of waiting out each client."""

from __future__ import annotations

import asyncio


class Streams:
    def __init__(self, keepalive_seconds: float = 15.0) -> None:
        self.keepalive_seconds = keepalive_seconds
        self.closing = asyncio.Event()
        self.open = 0

    async def close(self) -> None:
        """``on_shutdown``: every stream ends with its next wake-up (immediately)."""
        self.closing.set()
