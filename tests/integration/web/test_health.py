"""``/api/health`` reports what threatens complete recording (art. 10: faults are reported)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hotline.calls import Incident, IncidentKind
from hotline.config import Settings
from hotline.sources import build_sources
from tests.support.ami_simulator import AMISimulator
from tests.support.web_server import WebRig


async def test_health_names_sources_and_incidents(
    rig: WebRig, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    client = rig.bearer(await rig.token("supervisor", "monitoring"))
    status, body, _ = await client.get("/api/health")
    assert status == 200 and body["status"] == "ok"
    assert body["sources"] == {} and body["incidents"] == {"count": 0, "recent": []}
    assert body["evidence"]["low"] is False

    async with asyncio.timeout(30), AMISimulator("failed-login", speed=20) as sim:
        (source,) = build_sources(
            make_settings(ami_url=sim.url(), asterisk_recordings=tmp_path), rig.core.on_fact
        )
        rig.core.sources.append(source)
        await source.start()
        try:
            while True:  # the refusal, then its incident, reach health (no event to await)
                status, body, _ = await client.get("/api/health")
                if body.get("incidents", {}).get("count"):
                    break
                await asyncio.sleep(0.05)
        finally:
            await source.stop()
    assert status == 200 and body["status"] == "degraded"
    assert body["sources"]["asterisk"]["ok"] is False
    assert body["sources"]["asterisk"]["state"] == "login failed"
    (incident,) = body["incidents"]["recent"]
    assert incident["kind"] == "source.down" and "refused our login" in incident["detail"]

    await rig.core.on_fact(
        Incident(
            kind=IncidentKind.UNRECORDED, at=datetime.now(UTC), call_id="x", detail="no MixMonitor"
        )
    )
    body = (await client.get("/api/health"))[1]
    assert body["incidents"]["count"] == 2
    assert body["incidents"]["recent"][0]["kind"] == "call.unrecorded"
    # Anonymous callers learn only that something needs a look.
    assert (await rig.anonymous().get("/api/health"))[1] == {"status": "degraded"}
