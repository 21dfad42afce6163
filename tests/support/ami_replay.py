"""A captured Asterisk session replayed into a hotline core: the AMI simulator over TCP
on 127.0.0.1, the real ``AsteriskSource`` with the production settings (3 s MixMonitor
grace), and ``Hotline.on_fact``, until every recording the session made is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotline.ami import AMIConfig, AsteriskSource
from hotline.calls import FactSink
from tests.support.ami_simulator import AMISimulator

SPEED = 16.0


def replay_config(sim: AMISimulator, recordings: Path, **changes: object) -> AMIConfig:
    """The settings a deployment has, with file polling and reconnects made quick."""
    settings: dict[str, object] = {
        "recordings_dir": recordings,
        "pbx_recordings_dir": sim.pbx_monitor,  # the simulated PBX's name for it
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "file_poll_interval": 0.02,
        "file_stable_for": 0.1,
        "file_close_timeout": 5.0,
        "orphan_min_age": 60.0,
        **changes,
    }
    return AMIConfig.from_url(sim.url(), **settings)  # type: ignore[arg-type]


async def replay(
    scenario: str, recordings: Path, sink: FactSink, *, speed: float = SPEED, **changes: object
) -> AMISimulator:
    """Replay ``scenario`` (its captured files included) into ``sink`` and return once
    the session is over and every fact has reached the sink (the caller bounds it)."""
    # As Asterisk 22 answered the capture client: the MixMonitor action's answer
    # comes before the events it causes.
    async with AMISimulator(
        scenario, recordings_dir=recordings, speed=speed, mixmonitor_events_first=False
    ) as sim:
        config = replay_config(sim, recordings, **changes)
        async with AsteriskSource(config, sink, time_scale=speed) as source:
            await sim.done.wait()
            while source.status.recordings_pending or source.status.calls_tracked:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # no event says every file was picked up
    return sim
