"""Webhook delivery throughput: signed deliveries per second to a local receiver that
verifies every signature, with 1, 2 and 4 ``hotline worker`` processes on PostgreSQL,
and the time to drain a backlog after the receiver comes back. Target: >= 500/s.

    .venv/bin/python bench/webhooks.py [--postgres DSN] [--events 2000] [--backlog 10000]

The bench makes a scratch database on the PostgreSQL server named by ``--postgres``
(default ``postgresql://postgres@127.0.0.1:5432/test``) and drops it afterwards. The
receiver runs in its own process; on a 2-core machine it competes with the workers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CASE: dict[str, Any] = {
    "case": {
        "number": "HL-2026-000001",
        "status": "forwarded",
        "caller": {"number": "13800138000", "e164": "+8613800138000", "name": ""},
        "operator_notes": "举报人称某水泥厂虚报产值，要求回电。" * 4,
        "transcript": {
            "version": 1,
            "text": "我要举报金河水泥厂上个月虚报统计数据。" * 10,
            "segments": [
                {"start": i * 2.0, "end": i * 2.0 + 1.8, "text": "虚报统计数据"} for i in range(12)
            ],
        },
    },
    "recording": {"sha256": "ab" * 32, "duration": 27.58, "content_type": "audio/wav"},
}


# --- the receiver (its own process) ---------------------------------------------------


def run_receiver(port: int, secret: str) -> None:
    from standardwebhooks.webhooks import Webhook

    verifier = Webhook(secret)
    stats = {"count": 0, "first": 0.0, "last": 0.0, "bad": 0}
    seen: set[str] = set()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verifier.verify(body, dict(request.headers))
        except Exception:
            stats["bad"] += 1
            return web.Response(status=401)
        msg = request.headers["webhook-id"]
        if msg not in seen:
            seen.add(msg)
            now = time.monotonic()
            stats["first"] = stats["first"] or now
            stats["last"] = now
            stats["count"] += 1
        return web.Response(status=204)

    async def report(_: web.Request) -> web.Response:
        return web.json_response(stats)

    async def reset(_: web.Request) -> web.Response:
        stats.update(count=0, first=0.0, last=0.0, bad=0)
        seen.clear()
        return web.json_response(stats)

    app = web.Application()
    app.router.add_post("/hook", receive)
    app.router.add_get("/stats", report)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the driver -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, url: str, port: int, secret: str) -> None:
        from hotline.config import load_settings
        from hotline.service import Hotline

        self.url = url
        self.port = port
        self.env = {
            **os.environ,
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_DATA_DIR": str(Path("/tmp") / f"hotline-bench-{uuid.uuid4().hex[:6]}"),
            "HOTLINE_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "HOTLINE_WEBHOOK_SECRET": secret,
            "HOTLINE_WEBHOOK_CONCURRENCY": "32",
            "HOTLINE_JOB_POLL_SECONDS": "0.05",
            "HOTLINE_LOG_LEVEL": "WARNING",
        }
        settings = load_settings(
            environ={k: v for k, v in self.env.items() if k.startswith("HOTLINE_")}
        )
        self.core = Hotline(settings)

    async def enqueue(self, n: int) -> float:
        from hotline.webhooks.outbox import EventType

        started = time.perf_counter()
        done = 0
        while done < n:
            async with self.core.db.session() as s:
                for _ in range(min(500, n - done)):
                    await self.core.outbox.emit(s, EventType.CASE_UPDATED, SAMPLE_CASE)
                    done += 1
        return time.perf_counter() - started

    async def clear(self) -> None:
        async with self.core.db.session() as s:
            conn = await s.connection()
            await conn.execute(text("TRUNCATE jobs, deliveries, webhook_events"))

    async def stats(self, path: str = "stats") -> dict[str, Any]:
        async with ClientSession() as http:
            method = http.get if path == "stats" else http.post
            async with method(f"http://127.0.0.1:{self.port}/{path}") as resp:
                return dict(await resp.json())

    def workers(self, k: int) -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen([str(Path(sys.executable).parent / "hotline"), "worker"], env=self.env)
            for _ in range(k)
        ]

    @staticmethod
    def stop(procs: list[subprocess.Popen[bytes]]) -> None:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)

    async def until(self, n: int, limit: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            stats = await self.stats()
            if stats["count"] >= n:
                return stats
            await asyncio.sleep(0.1)
        raise RuntimeError(f"only {stats['count']} of {n} delivered in {limit} s")


def start_receiver(port: int, secret: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, __file__, "--receiver", str(port), secret])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


async def main_async(args: argparse.Namespace) -> None:
    import asyncpg

    from hotline.webhooks.endpoints import new_secret

    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.postgres.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    secret = new_secret()
    port = free_port()
    bench = Bench(f"{base}/{name}", port, secret)
    receiver = start_receiver(port, secret)
    try:
        await bench.core.open(migrate=True)
        print(f"signed deliveries to a verifying receiver, {os.cpu_count()} CPUs, PostgreSQL")
        print("| workers | events | enqueue s | deliver s | deliveries/s |")
        print("|---------|--------|-----------|-----------|--------------|")
        for k in args.workers:
            await bench.clear()
            await bench.stats("reset")
            took = await bench.enqueue(args.events)
            procs = bench.workers(k)
            try:
                stats = await bench.until(args.events)
            finally:
                bench.stop(procs)
            span = stats["last"] - stats["first"]
            rate = args.events / span
            print(f"| {k:>7} | {args.events:>6} | {took:>9.2f} | {span:>9.2f} | {rate:>12.0f} |")

        # A backlog piles up while the receiver is down, then drains when it is back.
        await bench.clear()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)
        took = await bench.enqueue(args.backlog)
        receiver = start_receiver(port, secret)
        started = time.monotonic()
        procs = bench.workers(4)
        try:
            stats = await bench.until(args.backlog, limit=1200)
        finally:
            bench.stop(procs)
        total = time.monotonic() - started
        print(
            f"backlog of {args.backlog} (queued in {took:.1f} s while the receiver was down): "
            f"drained by 4 workers in {total:.1f} s from their start "
            f"({args.backlog / total:.0f}/s), {stats['bad']} bad signatures"
        )
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=10)
        await bench.core.close()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--backlog", type=int, default=10000)
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    ap.add_argument("--receiver", nargs=2, metavar=("PORT", "SECRET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.receiver:
        run_receiver(int(args.receiver[0]), args.receiver[1])
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
