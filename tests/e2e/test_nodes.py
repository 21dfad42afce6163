"""Two ``hotline serve`` nodes on one PostgreSQL and one S3 bucket, one simulated PBX
replaying a captured call: exactly one node follows it; the leader is killed
(``kill -9``) mid-call and the other takes over, adopts the call and seals its
recording into one case; the second node's server-sent events show the call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import fresh_pg_database, hotline_command
from tests.e2e.conftest import free_port, hotline
from tests.support.ami_captures import PBX_MONITOR
from tests.support.ami_simulator import AMISimulator
from tests.support.seaweed import Seaweed

CALL = "1795824714.0"
SPEED = 1.5  # the captured call: answered at 8.7 s, hung up at 34 s (virtual time)
LEASE = 3.0


class Node:
    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "HOTLINE_HTTP": f"127.0.0.1:{self.port}"}
        self.env["HOTLINE_DATA_DIR"] = str(logs / f"data-{name}")
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = logs / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                hotline_command(), "serve", env=self.env, stdout=out, stderr=out
            )

    async def health(self, http: aiohttp.ClientSession, token: str) -> dict[str, Any] | None:
        try:
            async with http.get(
                f"{self.base}/api/health", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                return dict(await resp.json()) if resp.status == 200 else None
        except aiohttp.ClientError:
            return None

    def leading(self, health: dict[str, Any] | None) -> bool:
        return bool(health and health["sources"]["asterisk"]["leader"])

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(20):
                    await self.proc.wait()
            except TimeoutError:
                await self.kill()


async def _events(http: aiohttp.ClientSession, url: str, token: str, into: list[Any]) -> None:
    """Collect the server-sent events of ``url`` into ``into`` as (event, data)."""
    async with http.get(
        url, headers={"Authorization": f"Bearer {token}"}, timeout=aiohttp.ClientTimeout()
    ) as resp:
        assert resp.status == 200
        event = ""
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                into.append((event, json.loads(line[6:])))


async def _until(check: Any, pause: float = 0.1) -> Any:
    """Poll ``check`` (sync or async) until it returns something true; the caller's
    ``asyncio.timeout`` bounds it."""
    while True:
        got = check()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return got
        await asyncio.sleep(pause)


@pytest.fixture
async def pg() -> AsyncIterator[str]:
    async with fresh_pg_database() as url:
        yield url


@pytest.mark.timeout(180)
async def test_two_nodes_one_pbx_leader_killed_mid_call(
    cli_env: dict[str, str], seaweed: Seaweed, pg: str, tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    env = {
        **cli_env,
        **seaweed.env(bucket),
        "HOTLINE_DATABASE_URL": pg,
        "HOTLINE_ASTERISK_RECORDINGS": str(recordings),
        # The simulated PBX's own name for that directory (its events say so).
        "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH": PBX_MONITOR,
        "HOTLINE_AMI_MIXMONITOR_GRACE": "8",
        "HOTLINE_LEADER_LEASE_SECONDS": str(LEASE),
        "HOTLINE_JOB_POLL_SECONDS": "5",
    }
    assert (await asyncio.to_thread(hotline, ["db", "upgrade"], env)).returncode == 0
    made = await asyncio.to_thread(
        hotline, ["tokens", "create", "--role", "supervisor", "--name", "test", "--json"], env
    )
    token = json.loads(made.stdout)["token"]

    async with (
        AMISimulator("answered-call", recordings_dir=recordings, speed=SPEED) as sim,
        aiohttp.ClientSession() as http,
    ):
        env["HOTLINE_AMI_URL"] = sim.url()
        a, b = Node("a", env, tmp_path), Node("b", env, tmp_path)
        connected: list[int] = []

        async def watch_connections() -> None:
            while True:
                connected.append(len(sim._clients))
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch_connections())
        sse: list[Any] = []
        stream: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(120):
                await a.start()
                await b.start()

                async def both_up() -> tuple[dict[str, Any], dict[str, Any]] | None:
                    ha, hb = await a.health(http, token), await b.health(http, token)
                    if ha is None or hb is None or not (a.leading(ha) or b.leading(hb)):
                        return None
                    return ha, hb

                ha, hb = await _until(both_up, 0.2)
                leader, follower = (a, b) if a.leading(ha) else (b, a)
                assert not follower.leading(hb if leader is a else ha)

                # The follower's browsers see the call that the leader follows.
                stream = asyncio.create_task(
                    _events(http, f"{follower.base}/api/events", token, sse)
                )
                await _until(lambda: any(e == "call" and d["call_id"] == CALL for e, d in sse))
                await sim.wait_until(15.0)  # answered and recording
                assert any(e == "call" and d["state"] == "answered" for e, d in sse)
                assert sim.logins == 1

                await leader.kill()
                taken = await _until(lambda: _leads(follower, http, token), 0.2)
                assert taken["sources"]["asterisk"]["term"] == 2
                # The call ends on the new leader, as one case with its recording.
                db = await asyncpg.connect(pg.replace("postgresql+asyncpg://", "postgresql://"))
                try:
                    await _until(lambda: db.fetchval("SELECT count(*) FROM recordings"), 0.3)
                    await asyncio.sleep(1.0)  # nothing more arrives
                    cases = await db.fetch("SELECT id, call_id FROM cases")
                    recs = await db.fetch(
                        "SELECT call_id, object_version, original_name FROM recordings"
                    )
                    calls = await db.fetch("SELECT external_id, state FROM calls")
                finally:
                    await db.close()
                await _until(
                    lambda: any(
                        e == "call" and d["call_id"] == CALL and d["state"] == "ended"
                        for e, d in sse
                    )
                )
        finally:
            watcher.cancel()
            if stream is not None:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                    await stream
            await a.stop()
            await b.stop()
    assert [dict(c) for c in calls] == [{"external_id": CALL, "state": "ended"}]
    assert len(cases) == 1 and len(recs) == 1
    assert recs[0]["call_id"] == cases[0]["call_id"] and recs[0]["object_version"]
    assert max(connected) == 1  # never two nodes on the PBX at once
    assert sim.logins == 2  # the leader, then its successor
    assert any(e == "case" for e, _ in sse)
    log = follower.log.read_text()
    assert "now holds the asterisk lease (term 2)" in log, log[-3000:]


async def _leads(node: Node, http: aiohttp.ClientSession, token: str) -> dict[str, Any] | None:
    health = await node.health(http, token)
    return health if node.leading(health) else None
