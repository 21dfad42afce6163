"""``AMIClient`` over real TCP against the AMI simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hotline.ami import AMIClient, AMIConfig, LinkState, Message
from hotline.ami.client import LinkStatus
from hotline.ami.protocol import ActionResult, Item
from hotline.errors import PBXError
from tests.integration.ami.conftest import eventually
from tests.support.ami_simulator import AMISimulator

SPEED = 20.0


def config(sim: AMISimulator, **changes: object) -> AMIConfig:
    settings: dict[str, object] = {"reconnect_min": 0.05, "reconnect_max": 0.2, **changes}
    return AMIConfig.from_url(sim.url(), **settings)  # type: ignore[arg-type]


class Link:
    def __init__(self, config: AMIConfig) -> None:
        self.items: list[Item] = []
        self.up = asyncio.Event()
        self.downs: list[tuple[str, bool]] = []
        self.client = AMIClient(
            config, on_item=self.items.append, on_connected=self.up.set, on_disconnected=self.down
        )

    def down(self, reason: str, final: bool) -> None:
        self.downs.append((reason, final))
        self.up.clear()


async def test_login_events_and_list_actions(tmp_path: Path) -> None:
    async with asyncio.timeout(20), AMISimulator("answered-call", speed=SPEED) as sim:
        link = Link(config(sim))
        await link.client.start()
        await link.up.wait()
        status = link.client.status
        assert status.state is LinkState.CONNECTED and status.banner.startswith(
            "Asterisk Call Manager"
        )
        await sim.wait_until(9.0)
        result = await link.client.action(Message.action("Status", Variables="HOTLINE_CALL"))
        assert result.ok and len(result.items) == 2
        assert {m.variables().get("HOTLINE_CALL") for m in result.items} == {"1", None}
        pong = await link.client.action(Message.action("Ping"))
        assert pong.response["Ping"] == "Pong"
        unknown = await link.client.action(Message.action("NoSuchAction"))
        assert not unknown.ok and "Invalid/unknown command" in unknown.message
        await link.client.stop()
        await link.client.stop()  # idempotent
    events = [i.event for i in link.items if isinstance(i, Message)]
    assert events[:2] == ["FullyBooted", "SuccessfulAuth"] and "Newchannel" in events
    assert [i.action for i in link.items if isinstance(i, ActionResult)][-1] == "Logoff"
    assert sim.actions[-1].action_name == "Logoff"


async def test_md5_challenge_login() -> None:
    async with asyncio.timeout(20), AMISimulator("answered-call", speed=SPEED) as sim:
        link = Link(AMIConfig.from_url(sim.url(auth="md5")))
        await link.client.start()
        await link.up.wait()
        await link.client.stop()
    login = next(a for a in sim.actions if a.action_name == "Login")
    assert login["AuthType"] == "MD5" and "Secret" not in login and len(login["Key"]) == 32


async def test_reconnects_when_asterisk_comes_back() -> None:
    async with asyncio.timeout(20), AMISimulator("answered-call", speed=SPEED) as sim:
        await sim.stop_listening()
        link = Link(config(sim))
        await link.client.start()
        # Three refused attempts, each with its own status, before looking at the outage.
        retries: list[LinkStatus] = []

        def retried_thrice() -> bool:
            status = link.client.status
            if status.state is LinkState.RECONNECTING and all(s is not status for s in retries):
                retries.append(status)
            return len(retries) >= 3

        await eventually(retried_thrice)
        # Between attempts a status says when the next one comes (during one it says
        # nothing of a next): read the ones seen, not the one of this moment.
        waiting = [s.retry_in for s in retries if s.retry_in is not None]
        assert waiting and all(0.025 <= r <= 0.2 for r in waiting), retries
        assert "ConnectionRefusedError" in retries[-1].last_error
        assert len(link.downs) == 1  # reported once per outage, not per attempt
        await sim.resume_listening()
        await link.up.wait()
        sim.drop()
        await eventually(lambda: link.client.status.connects >= 2)
        await link.client.stop()
    assert len(link.downs) == 2 and not any(final for _, final in link.downs)


async def test_keepalive_drops_a_link_that_stopped_answering() -> None:
    async with (
        asyncio.timeout(20),
        AMISimulator("answered-call", speed=SPEED, silent=frozenset({"ping"})) as sim,
    ):
        link = Link(config(sim, ping_interval=0.2, action_timeout=0.2))
        await link.client.start()
        await link.up.wait()
        await eventually(lambda: link.client.status.connects >= 2)
        await link.client.stop()
    assert "no answer to Ping" in link.downs[0][0]


async def test_action_timeout_and_not_connected() -> None:
    async with (
        asyncio.timeout(20),
        AMISimulator("answered-call", speed=SPEED, silent=frozenset({"getvar"})) as sim,
    ):
        link = Link(config(sim))
        with pytest.raises(PBXError, match="not connected"):
            await link.client.action(Message.action("Ping"))
        await link.client.start()
        await link.up.wait()
        with pytest.raises(PBXError, match=r"no answer to Getvar within 0\.2 s"):
            await link.client.action(Message.action("Getvar", Variable="X"), within=0.2)
        assert (await link.client.action(Message.action("Ping"))).ok  # the link survives
        await link.client.stop()


async def test_a_refused_login_is_final() -> None:
    async with asyncio.timeout(20), AMISimulator("answered-call", speed=SPEED) as sim:
        link = Link(
            AMIConfig.from_url(
                sim.url(secret="wrong-secret"), reconnect_min=0.01, reconnect_max=0.02
            )
        )
        await link.client.start()
        await eventually(lambda: link.client.status.state is LinkState.LOGIN_FAILED)
        await asyncio.sleep(0.3)
        await link.client.stop()
    assert sim.logins == 1
    ((reason, final),) = link.downs
    assert final and "refused AMI user 'hotline': Authentication failed" in reason
