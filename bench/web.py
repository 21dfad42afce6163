"""Web UI and API at scale: with 100,000 cases in PostgreSQL, the case list and Chinese
full-text search through the real HTTP API (p50/p95, target p95 < 100 ms), and how many
server-sent event clients one process holds (target >= 200) and how fast an event
reaches all of them.

    .venv/bin/python bench/web.py [--cases 100000] [--requests 200] [--sse 200,500,1000]
                                  [--postgres postgresql://postgres@127.0.0.1:5432/test]

Makes a scratch database on that server (dropped afterwards). Cases are written in
bulk (COPY) with Chinese transcripts and notes drawn from a report vocabulary, and
indexed by the same code the service uses. The server runs on its own event loop in a
thread; the clients on the main loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

from hotline.auth import tokens
from hotline.config import load_settings
from hotline.search import document
from hotline.service import Hotline
from hotline.store.tables import Case, Transcript
from hotline.web.app import make_app

PHRASES = [
    "你好，我要举报",
    "统计数据造假",
    "虚报产值",
    "少报营业收入",
    "拒绝提供统计资料",
    "迟报统计报表",
    "篡改原始记录",
    "毁弃统计台账",
    "阻碍统计检查",
    "请您慢慢说",
    "什么时候发生的",
    "上个月的月报表",
    "工业总产值翻了一倍",
    "员工人数虚报",
    "能源消耗数据不实",
    "统计人员被要求改数",
    "领导让我们多报",
    "有账本可以作证",
    "我不想留名字",
    "希望有反馈",
    "地址在开发区",
    "这个情况持续很久了",
    "请把联系方式告诉我",
    "我们会转交处理",
    "谢谢您的举报",
]
PLACES = [
    "金河",
    "银山",
    "东湖",
    "西岭",
    "南江",
    "北原",
    "青石",
    "红星",
    "长安",
    "新华",
    "光明",
    "永丰",
]
KINDS = [
    "水泥厂",
    "钢铁厂",
    "纺织公司",
    "化工厂",
    "食品公司",
    "建材公司",
    "物流公司",
    "煤矿",
    "电子厂",
    "服装厂",
]
CATEGORIES = [
    "false_data",
    "refusal",
    "late_reporting",
    "obstruction",
    "records_tampering",
    "no_records",
    "other",
]
STATUSES = ["draft"] * 4 + ["under_review"] * 3 + ["forwarded", "accepted", "rejected"]


def _row_text(rng: random.Random, n: int) -> str:
    return "，".join(rng.choice(PHRASES) for _ in range(n)) + "。"


async def populate(dsn: str, count: int, seed: int = 11) -> None:
    """``count`` calls, recordings, cases, transcripts and their search rows."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(dsn)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    calls, recs, cases, transcripts, search = [], [], [], [], []
    for i in range(1, count + 1):
        at = start + timedelta(minutes=5 * i + rng.randint(0, 4))
        entity = rng.choice(PLACES) + rng.choice(KINDS)
        caller = f"139{rng.randint(0, 99_999_999):08d}"
        calls.append(
            (
                i,
                "sip",
                f"bench-{i}",
                caller,
                "+86" + caller,
                "",
                "12340",
                "ended",
                at,
                at,
                at,
                "",
                at,
            )
        )
        duration = rng.uniform(30, 300)
        recs.append(
            (
                i, uuid.uuid4().hex + uuid.uuid4().hex, 8000 * 2 * int(duration) + 44,
                f"sha256/x/{i}.wav", "audio/wav", "pcm_s16le", 8000, 1, duration, "", i, 0,
                "mix", None, "{}", at,
            )
        )  # fmt: skip
        status = rng.choice(STATUSES)
        notes = _row_text(rng, 2)
        case = Case(
            id=i,
            number=f"HL-{at.year}-{i:06d}",
            status=status,
            call_id=i,
            created_at=at,
            updated_at=at,
            entity_name=entity,
            category=rng.choice(CATEGORIES),
            operator_notes=notes,
            operator=f"op{rng.randint(1, 20)}",
            handler=f"hd{rng.randint(1, 10)}" if status != "draft" else "",
        )
        cases.append(case)
        words = _row_text(rng, rng.randint(6, 16))
        segments = [{"start": 0.0, "end": duration, "text": words, "speaker": None}]
        transcripts.append(
            (i, i, i, 1, "machine", "bench", "zh", "bench", words, json.dumps(segments), None, at)
        )
        body, tokens_text = document(
            case, [Transcript(recording_id=i, case_id=i, version=1, source="machine", text=words)]
        )
        search.append((i, body, tokens_text, i, at))
    columns = {
        "calls": "id source external_id caller_raw caller_e164 caller_name callee state "
        "started_at answered_at ended_at end_cause created_at",
        "recordings": "id sha256 size stored_path content_type codec sample_rate channels "
        "duration original_name call_id sequence leg expected_duration details sealed_at",
        "transcripts": "id recording_id case_id version source author language model text "
        "segments supersedes_id created_at",
        "case_search": "case_id body tokens transcript_id indexed_at",
    }
    case_columns = [c.name for c in Case.__table__.columns]  # type: ignore[attr-defined]
    case_rows = [tuple(getattr(c, name) for name in case_columns) for c in cases]
    started = time.perf_counter()
    await conn.copy_records_to_table("calls", records=calls, columns=columns["calls"].split())
    await conn.copy_records_to_table(
        "recordings", records=recs, columns=columns["recordings"].split()
    )
    await conn.copy_records_to_table("cases", records=case_rows, columns=case_columns)
    await conn.copy_records_to_table(
        "transcripts", records=transcripts, columns=columns["transcripts"].split()
    )
    await conn.copy_records_to_table(
        "case_search", records=search, columns=columns["case_search"].split()
    )
    for table in ("calls", "recordings", "cases", "transcripts"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    await conn.execute("ANALYZE")
    print(f"  wrote {count} cases in {time.perf_counter() - started:.1f} s (COPY, then ANALYZE)")
    await conn.close()


class ServerThread:
    """The web app on its own event loop, as in ``hotline serve``."""

    def __init__(self, core: Hotline) -> None:
        self.core = core
        self.loop = asyncio.new_event_loop()
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-server", daemon=True)
        self._runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self._runner = web.AppRunner(make_app(self.core, first_admin=False), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(60)

    def call(self, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(600)

    def stop(self) -> None:
        async def stop() -> None:
            assert self._runner is not None
            await self._runner.cleanup()
            await self.core.close()

        self.call(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)


def _row(label: str, latencies: list[float], hits: int) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"| {label:<34} | {hits:>5} | {q[49] * 1000:>7.1f} | {q[94] * 1000:>7.1f} "
        f"| {max(latencies) * 1000:>7.1f} |"
    )


async def measure_queries(url: str, token: str, requests: int) -> None:
    queries = [
        ("list, newest 50", "/api/cases"),
        ("list, status + category", "/api/cases?status=under_review&category=refusal"),
        ("list, operator + dates", "/api/cases?operator=op7&since=2025-03-01&until=2025-09-30"),
        ("list, page 40 (before=)", "/api/cases?before=98000"),
        ("search 1 char 厂", "/api/cases?q=厂"),
        ("search 2 chars 统计 (common)", "/api/cases?q=统计"),
        ("search 2 chars 银山 (entity)", "/api/cases?q=银山"),
        ("search 4 chars 虚报产值", "/api/cases?q=虚报产值"),
        ("search 6 chars 工业总产值翻", "/api/cases?q=工业总产值翻"),
        ("search 2 words 金河 账本", "/api/cases?q=金河%20账本"),
        ("search 南江钢铁厂 + status", "/api/cases?q=南江钢铁厂&status=forwarded"),
        ("search, no match 火箭", "/api/cases?q=火箭"),
    ]
    headers = {"Authorization": f"Bearer {token}"}
    print(f"\n{requests} requests each, sequential, 50 cases a page, through HTTP + JSON:")
    print("| query                              |  hits | p50 ms  | p95 ms  | max ms  |")
    print("|------------------------------------|-------|---------|---------|---------|")
    async with ClientSession(headers=headers) as http:
        for label, path in queries:
            hits = 0
            async with http.get(url + path) as resp:  # warm-up (and the index catch-up)
                assert resp.status == 200, await resp.text()
                hits = len((await resp.json())["cases"])
            latencies = []
            for _ in range(requests):
                t0 = time.perf_counter()
                async with http.get(url + path) as resp:
                    await resp.read()
                latencies.append(time.perf_counter() - t0)
            _row(label, latencies, hits)


async def measure_sse(server: ServerThread, token: str, counts: list[int]) -> None:
    print("\nserver-sent event clients held by one process (each with its own connection):")
    print("(RSS: this process now, server and clients together, 100k cases loaded before)")
    print("| clients | connected in s | snapshot ok | event to all, p50 ms | p95 ms | RSS MB |")
    print("|---------|----------------|-------------|----------------------|--------|--------|")
    headers = {"Authorization": f"Bearer {token}"}
    for n in counts:
        connector = TCPConnector(limit=0)
        timeout = ClientTimeout(total=None, sock_read=120)
        async with ClientSession(headers=headers, connector=connector, timeout=timeout) as http:
            t0 = time.perf_counter()
            responses = await asyncio.gather(
                *(http.get(server.url + "/api/events") for _ in range(n))
            )
            snapshots = 0
            for resp in responses:
                if resp.status == 200 and b"event: snapshot" in await _frame(resp):
                    snapshots += 1
            connected = time.perf_counter() - t0
            fanout = []
            for k in range(20):
                payload = {"id": k, "number": f"HL-bench-{k}", "status": "draft"}
                t1 = time.perf_counter()
                server.loop.call_soon_threadsafe(server.core.live.publish, "case", payload)
                await asyncio.gather(*(_frame(r) for r in responses))
                fanout.append(time.perf_counter() - t1)
            rss = _rss_mb()
            q = statistics.quantiles(fanout, n=20)
            median = statistics.median(fanout) * 1000
            print(
                f"| {n:>7} | {connected:>14.2f} | {snapshots:>11} | {median:>20.1f} "
                f"| {q[18] * 1000:>6.1f} | {rss:>6.0f} |"
            )
            for resp in responses:
                resp.close()
        await asyncio.sleep(1)


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _frame(resp: Any) -> bytes:
    """Read up to the end of the next event that carries data (a blank line ends it)."""
    data = b""
    while True:
        line: bytes = await resp.content.readline()
        if not line:
            return data
        data += line
        if line == b"\n" and b"data:" in data:
            return data


async def run(args: argparse.Namespace) -> None:
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = args.postgres.rpartition("/")[0]
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
            settings = load_settings(
                environ={
                    "HOTLINE_DATA_DIR": str(Path(tmp) / "data"),
                    "HOTLINE_DATABASE_URL": base.replace("postgresql://", "postgresql+asyncpg://")
                    + f"/{name}",
                    "HOTLINE_SIP": "off",
                }
            )
            core = Hotline(settings)
            await core.open(migrate=True)
            print(f"PostgreSQL scratch database {name}: {args.cases} cases")
            await populate(f"{base}/{name}", args.cases)
            token = (await tokens.create(core.db, "bench", "supervisor", actor="bench")).token
            await core.close()
            core = Hotline(settings)
            server = ServerThread(core)
            server.start()
            server.call(lambda: core.open(migrate=False))
            try:
                await measure_queries(server.url, token, args.requests)
                await measure_sse(server, token, [int(n) for n in args.sse.split(",")])
            finally:
                server.stop()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--sse", default="200,500,1000", help="client counts to try")
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
