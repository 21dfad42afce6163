"""Live calls and server-sent events on every node: PostgreSQL ``LISTEN/NOTIFY``.

Each ``hotline serve`` on PostgreSQL listens on one channel and notifies it of its own
live-feed updates (a call rang, was answered, is recording, ended; a case opened). What
other nodes send goes into the local ``LiveFeed``, so a browser on any node behind the
load balancer sees every call. A node that starts says ``hello`` and the others send it
their calls in progress; nodes send a heartbeat, and the calls of one that went silent
are dropped (their new owner, the next leader of the PBX, announces them again).

A notification carries at most 8000 bytes (PostgreSQL's limit); an update is a few
hundred. One dedicated connection (asyncpg) does both; it reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from typing import Any

import asyncpg

from hotline.live import LiveFeed

log = logging.getLogger(__name__)

CHANNEL = "hotline_live"
_MAX_PAYLOAD = 7900


class LiveRelay:
    def __init__(
        self,
        dsn: str,
        feed: LiveFeed,
        node: str,
        *,
        heartbeat: float = 5.0,
        silent_after: float = 15.0,
    ) -> None:
        """``silent_after``: a node not heard for this long is gone (keep it longer than
        a PBX leader's takeover, so adopted calls never blink off)."""
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.feed = feed
        self.node = node
        self.heartbeat = heartbeat
        self.silent_after = max(silent_after, 2 * heartbeat)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(10_000)
        self._heard: dict[str, float] = {}
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.sent = 0
        self.received = 0
        self.dropped = 0

    async def start(self) -> None:
        if self._task is not None:
            return
        self.feed.relay = self._publish
        self._task = asyncio.create_task(self._run(), name="live-relay")

    async def stop(self) -> None:
        self.feed.relay = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    def health(self) -> dict[str, Any]:
        return {
            "ok": self.connected.is_set(),
            "nodes_heard": sorted(self._heard),
            "sent": self.sent,
            "received": self.received,
            "dropped": self.dropped,
        }

    # --- out ------------------------------------------------------------------------

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        self._queue({"kind": "update", "event": event, "data": data})

    def _queue(self, message: dict[str, Any]) -> None:
        try:
            self._outbox.put_nowait({"node": self.node, **message})
        except asyncio.QueueFull:
            self.dropped += 1

    async def _send(self, conn: asyncpg.Connection, message: dict[str, Any]) -> None:
        payload = json.dumps(message, ensure_ascii=False, default=str, separators=(",", ":"))
        if len(payload.encode()) > _MAX_PAYLOAD:
            self.dropped += 1
            log.warning("a live update of %d bytes is too large to relay", len(payload))
            return
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        self.sent += 1

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
                self._conn = conn
                await conn.add_listener(CHANNEL, self._on_notify)
                self.connected.set()
                delay = 1.0
                await self._send(conn, {"node": self.node, "kind": "hello"})
                await self._pump(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                log.warning("live relay lost its database connection: %s", exc)
                await self._close()
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 30.0)

    async def _pump(self, conn: asyncpg.Connection) -> None:
        next_beat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_beat:
                await self._send(conn, {"node": self.node, "kind": "beat"})
                self._prune(now)
                next_beat = now + self.heartbeat
            try:
                message = await asyncio.wait_for(self._outbox.get(), next_beat - now)
            except TimeoutError:
                continue
            await self._send(conn, message)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.connected.clear()
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    # --- in -------------------------------------------------------------------------

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            node = str(message["node"])
            kind = message["kind"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed live update on %s", CHANNEL)
            return
        if node == self.node:
            return
        self.received += 1
        self._heard[node] = time.monotonic()
        if kind == "hello":
            for call in self.feed.book.live():
                self._publish("call", call.to_dict())
        elif kind == "update":
            data = message.get("data")
            if isinstance(data, dict):
                self.feed.receive(node, str(message.get("event", "")), data)

    def _prune(self, now: float) -> None:
        for node, heard in list(self._heard.items()):
            if now - heard > self.silent_after:
                del self._heard[node]
                log.warning("node %s went silent; its live calls are dropped", node)
                self.feed.forget_node(node)
