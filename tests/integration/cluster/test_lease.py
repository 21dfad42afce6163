"""The leader lease on both databases, the leadership around it, and live calls relayed
between nodes over PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from hotline.calls import CallAnswered, CallStarted
from hotline.cluster.leader import Leadership
from hotline.cluster.lease import Lease
from hotline.cluster.relay import LiveRelay
from hotline.live import LiveFeed, Update
from hotline.store.db import Database

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    yield database
    await database.close()


async def test_one_holder_at_a_time(db: Database) -> None:
    a = Lease(db, "asterisk", "node-a", seconds=0.6)
    b = Lease(db, "asterisk", "node-b", seconds=0.6)
    first = await a.acquire()
    assert first is not None and first.term == 1
    assert await b.acquire() is None
    renewed = await a.acquire()
    assert renewed is not None and renewed.term == 1 and renewed.expires_at > first.expires_at
    await asyncio.sleep(0.7)  # a stops renewing: its lease runs out
    taken = await b.acquire()
    assert taken is not None and taken.term == 2
    assert await a.acquire() is None
    await b.release()
    again = await a.acquire()
    assert again is not None and again.term == 3
    current = await b.current()
    assert current is not None and current.holder == "node-a"


async def test_racing_nodes_never_both_win(db: Database) -> None:
    leases = [Lease(db, "asterisk", f"node-{i}", seconds=5) for i in range(6)]
    won = await asyncio.gather(*(lease.acquire() for lease in leases))
    assert len([w for w in won if w is not None]) == 1


async def test_leadership_runs_the_role_on_one_node_and_hands_it_over(db: Database) -> None:
    log: list[str] = []
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    def role(name: str) -> Leadership:
        async def start() -> None:
            log.append(f"{name} start")
            started[name].set()

        async def stop() -> None:
            log.append(f"{name} stop")

        return Leadership(Lease(db, "asterisk", f"node-{name}", seconds=0.9), start, stop)

    a, b = role("a"), role("b")
    async with asyncio.timeout(10):
        await a.start()
        await started["a"].wait()
        await b.start()
        await asyncio.sleep(1.0)  # b tries a few times while a renews
        assert log == ["a start"] and a.leading and not b.leading
        await a.stop()  # releases: b need not wait for the lease to run out
        await started["b"].wait()
    assert log == ["a start", "a stop", "b start"]
    assert b.state is not None and b.state.term == 2
    assert b.health()["leader"] is True and a.health()["leader"] is False
    await b.stop()


def _started(call_id: str) -> CallStarted:
    return CallStarted(
        call_id=call_id, source="asterisk", at=datetime.now(UTC), caller="13800138000"
    )


async def _next(updates: AsyncIterator[Update], event: str, **match: object) -> Update:
    async for update in updates:
        if update.event == event and all(update.data.get(k) == v for k, v in match.items()):
            return update
    raise AssertionError("stream ended")


async def test_live_calls_reach_every_node(pg_url: str) -> None:
    feeds = [LiveFeed() for _ in range(3)]
    relays = [
        LiveRelay(pg_url, feed, f"node-{i}", heartbeat=0.2, silent_after=0.8)
        for i, feed in enumerate(feeds)
    ]
    try:
        async with asyncio.timeout(20):
            for relay in relays[:2]:
                await relay.start()
                await relay.connected.wait()
            on_b = feeds[1].subscribe()
            waiting = asyncio.create_task(_next(on_b, "call"))
            await asyncio.sleep(0)
            feeds[0].apply(_started("1795824714.0"))
            got = await waiting
            assert got.data["call_id"] == "1795824714.0" and got.data["state"] == "ringing"
            assert [c["call_id"] for c in feeds[1].calls()] == ["1795824714.0"]
            assert feeds[1].knows("1795824714.0")
            feeds[0].publish("case", {"id": 7, "number": "HL-2026-000007", "status": "draft"})
            case = await _next(on_b, "case")
            assert case.data["number"] == "HL-2026-000007"

            # A node that starts later is told the calls in progress.
            await relays[2].start()
            while not feeds[2].knows("1795824714.0"):  # noqa: ASYNC110
                await asyncio.sleep(0.05)

            # The node that followed the call goes silent: the call ends with it.
            feeds[0].apply(CallAnswered(call_id="1795824714.0", at=datetime.now(UTC)))
            await _next(on_b, "call", state="answered")
            await relays[0].stop()
            lost = await _next(on_b, "call", state="ended")
            assert lost.data["node_lost"] is True
            assert feeds[1].calls() == []
            await on_b.aclose()  # type: ignore[attr-defined]
    finally:
        for relay in relays:
            await relay.stop()
