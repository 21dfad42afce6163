"""Reading a server-sent event stream in tests, one event at a time, with a bound."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse


class EventReader:
    def __init__(self, response: ClientResponse) -> None:
        self.response = response

    async def next(self, within: float = 10.0) -> tuple[str, Any]:
        """The next event (``event`` name and decoded ``data``); comments are skipped."""
        return await asyncio.wait_for(self._next(), within)

    async def _next(self) -> tuple[str, Any]:
        event, data = "message", []
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    return event, json.loads("\n".join(data))
                event = "message"
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)

    async def until(self, event: str, within: float = 10.0, **match: Any) -> Any:
        """Skip events until one named ``event`` whose data has the ``match`` items."""
        async with asyncio.timeout(within):
            while True:
                name, data = await self._next()
                if name == event and all(data.get(k) == v for k, v in match.items()):
                    return data
