"""A case-system receiver for tests: a real aiohttp server on 127.0.0.1 that verifies
every delivery with the ``standardwebhooks`` library, and misbehaves on demand.

Modes: ``ok`` (2xx), ``error`` (500), ``hang`` (no answer), ``drop`` (headers then the
connection closes mid-body), ``gone`` (410), ``hold`` (2xx once ``release`` is set,
counting the requests kept waiting meanwhile). ``stop()`` then ``start()`` on the same
port makes it "down" in between.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Attempt:
    msg_id: str
    mode: str
    verified: bool
    event: dict[str, Any] | None
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class Receiver:
    def __init__(self, secret: str, *, path: str = "/hotline") -> None:
        self.secret = secret
        self.path = path
        self.mode = "ok"
        self.attempts: list[Attempt] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self.release = asyncio.Event()
        """Set to let the requests that ``hold`` keeps waiting have their answer."""
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def accepted(self) -> list[Attempt]:
        """Verified deliveries answered 2xx, first of each webhook-id only."""
        seen: set[str] = set()
        out = []
        for a in self.attempts:
            if a.mode in ("ok", "hold") and a.verified and a.msg_id not in seen:
                seen.add(a.msg_id)
                out.append(a)
        return out

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, predicate: Any, within: float = 30) -> None:
        async with asyncio.timeout(within):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = dict(request.headers)
        mode = self.mode
        try:
            event = Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            event, verified = None, False
        self.attempts.append(Attempt(headers.get("webhook-id", ""), mode, verified, event, headers))
        self._changed.set()
        if not verified:
            return web.json_response({"error": "bad signature"}, status=401)
        if mode == "error":
            return web.json_response({"error": "case system down for maintenance"}, status=500)
        if mode == "gone":
            return web.json_response({"error": "this endpoint was retired"}, status=410)
        if mode == "hang":
            await asyncio.sleep(3600)
        if mode == "hold":
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._changed.set()
            try:
                await self.release.wait()
            finally:
                self.in_flight -= 1
        if mode == "drop":
            resp = web.StreamResponse(status=200)
            resp.content_length = 1000
            await resp.prepare(request)
            await resp.write(b'{"ok": tr')
            assert request.transport is not None
            request.transport.close()
            return resp
        return web.json_response({"ok": True})
