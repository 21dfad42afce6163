"""``/api/health`` reports what threatens complete recording (art. 10: faults are reported)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from hotline.calls import Incident, IncidentKind
from hotline.config import Settings
from hotline.pbx_checks import recordings_checks
from hotline.sources import build_sources
from tests.support.ami_simulator import AMISimulator
from tests.support.web_server import WebRig, hotline_core, serve_web


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


async def test_health_and_doctor_name_a_recordings_directory_the_pbx_names_otherwise(
    rig: WebRig, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Asterisk writes to /var/spool/asterisk/monitor; this host reads the share at
    another path and HOTLINE_ASTERISK_RECORDINGS_PBX_PATH is not set: every announced
    file lies outside the directory as configured. Health and doctor say what to set."""
    client = rig.bearer(await rig.token("supervisor", "monitoring"))
    share = tmp_path / "pbx-monitor"
    share.mkdir()
    async with (
        asyncio.timeout(60),
        AMISimulator("project-dialplan/queue-answered", recordings_dir=share, speed=16) as sim,
    ):
        settings = make_settings(ami_url=sim.url(), asterisk_recordings=share)
        (source,) = build_sources(settings, rig.core.on_fact)
        rig.core.sources.append(source)
        await source.start()
        try:
            await sim.done.wait()
            while not source.health()["recordings"]["unmapped"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the call's hang-up reaches the tracker
            status, body, _ = await client.get("/api/health")
        finally:
            await source.stop()
    assert status == 200 and body["status"] == "degraded"
    asterisk = body["sources"]["asterisk"]
    assert asterisk["ok"] is False and asterisk["state"] == "connected"
    recordings = asterisk["recordings"]
    assert recordings["dir"] == str(share) and recordings["pbx_dir"] == str(share)
    assert recordings["unmapped"] == 3
    announced = "/var/spool/asterisk/monitor/hotline-20261201-061927-1796105967.0"
    assert recordings["last_unmapped"].startswith(announced)
    assert "set HOTLINE_ASTERISK_RECORDINGS_PBX_PATH" in recordings["problem"]
    assert announced in recordings["problem"]
    kinds = {i["kind"] for i in body["incidents"]["recent"]}
    assert kinds == {"recording.incomplete"}  # one per file, as before
    checks = await recordings_checks(settings, rig.core.db)
    assert [(c.ok, c.what) for c in checks] == [(True, "pbx recordings"), (False, "pbx announced")]
    assert "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH=/var/spool/asterisk/monitor " in checks[1].detail
    assert f"this host reads it at {share}" in checks[1].detail


async def test_health_says_error_while_the_database_is_unreachable(
    make_settings: Callable[..., Settings],
) -> None:
    """The database behind a gate that is shut: health answers 503 ``error`` (the
    driver's own error, not a 500), and ``ok`` again once the database is back."""
    from urllib.parse import urlsplit

    from tests.conftest import fresh_pg_database
    from tests.support.tcp_gate import Gate
    from tests.support.web_server import hotline_core, serve_web

    async with fresh_pg_database() as url:
        parts = urlsplit(url)
        gate = Gate(parts.port or 5432)
        await gate.open()
        gated = url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{gate.port}")
        try:
            settings = make_settings(database_url=gated)
            async with hotline_core(settings) as core, serve_web(core) as rig:
                client = rig.anonymous()  # a token would be looked up in the database
                assert (await client.get("/api/health"))[:2] == (200, {"status": "ok"})
                await gate.shut()
                assert (await client.get("/api/health"))[:2] == (503, {"status": "error"})
                await gate.open()
                async with asyncio.timeout(30):
                    while (await client.get("/api/health"))[0] != 200:  # noqa: ASYNC110
                        await asyncio.sleep(0.2)  # the pool drops its cut connections
        finally:
            await gate.shut()


async def test_health_turns_degraded_when_the_evidence_store_runs_low(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """The same store, the same free space: a threshold 1 GiB under it is fine, 1 GiB
    over it is ``degraded`` (the space others use on this disk meanwhile is far less)."""
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    seen = {}
    for name, threshold in (("under", max(free_mb - 1024, 0)), ("over", free_mb + 1024)):
        settings = make_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}",
            evidence_min_free_mb=threshold,
        )
        async with hotline_core(settings) as core, serve_web(core) as rig:
            client = rig.bearer(await rig.token("supervisor", "monitoring"))
            status, body, _ = await client.get("/api/health")
            assert status == 200, body
            evidence = body["evidence"]
            assert abs(evidence["free_bytes"] // (1024 * 1024) - free_mb) < 512, evidence
            seen[name] = (body["status"], evidence["low"])
            anonymous = (await rig.anonymous().get("/api/health"))[1]
            assert anonymous == {"status": body["status"]}
    assert seen == {"under": ("ok", False), "over": ("degraded", True)}
