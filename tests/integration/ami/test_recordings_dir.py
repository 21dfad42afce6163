"""The shared recordings directory, configured as a deployment does (settings, through
``build_sources``): ``HOTLINE_ASTERISK_RECORDINGS`` alone is enough when Asterisk writes
to that very path, and ``hotline doctor`` says so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from hotline.config import Settings
from hotline.pbx_checks import recordings_checks
from hotline.service import Hotline
from hotline.sources import build_sources
from hotline.store.tables import Case, Incident, Recording
from tests.support.ami_simulator import AMISimulator


async def test_the_recordings_setting_alone_when_the_pbx_writes_to_that_very_path(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    core = Hotline(make_settings())
    await core.open(migrate=True)
    try:
        async with (
            asyncio.timeout(60),
            # A dialplan whose HOTLINE_RECDIR is `monitor`: every event names that path.
            AMISimulator(
                "project-dialplan/queue-answered",
                recordings_dir=monitor,
                speed=16,
                pbx_monitor=str(monitor),
            ) as sim,
        ):
            settings = make_settings(ami_url=sim.url(), asterisk_recordings=monitor)
            assert settings.asterisk_recordings_pbx_path is None
            (source,) = build_sources(settings, core.on_fact)
            await source.start()
            try:
                await sim.done.wait()
                while len(await _rows(core, Recording)) < 3:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # picked up by the production timings
                health = source.health()
            finally:
                await source.stop()
        (case,) = await _rows(core, Case)
        recordings = await _rows(core, Recording)
        assert {r.leg for r in recordings} == {"mix", "caller", "operator"}
        assert {r.call_id for r in recordings} == {case.call_id}
        assert await _rows(core, Incident) == []
        assert health["ok"] is True
        assert health["recordings"] == {
            "dir": str(monitor),
            "pbx_dir": str(monitor),
            "unmapped": 0,
            "last_unmapped": None,
            "missing": 0,
            "problem": None,
        }
        checks = await recordings_checks(settings, core.db)
        assert [(c.ok, c.what) for c in checks] == [
            (True, "pbx recordings"),
            (True, "pbx announced"),
        ]
        assert "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH unset" in checks[0].detail
        assert "sealed at" in checks[1].detail
    finally:
        await core.close()


async def test_doctor_names_a_recordings_directory_it_cannot_read(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    core = Hotline(make_settings())
    await core.open(migrate=True)
    try:
        unset = make_settings(ami_url="ami://hotline:s@127.0.0.1:5038")
        (check,) = await recordings_checks(unset, core.db)
        assert not check.ok and "HOTLINE_ASTERISK_RECORDINGS is not set" in check.detail
        gone = make_settings(
            ami_url="ami://hotline:s@127.0.0.1:5038", asterisk_recordings=tmp_path / "nowhere"
        )
        (check,) = await recordings_checks(gone, core.db)
        assert not check.ok
        assert check.detail.startswith(f"HOTLINE_ASTERISK_RECORDINGS: cannot list {tmp_path}")
        assert await recordings_checks(make_settings(), core.db) == []  # no Asterisk
    finally:
        await core.close()


async def _rows(core: Hotline, table: type) -> list:  # type: ignore[type-arg]
    async with core.db.session() as s:
        return list((await s.exec(select(table))).all())
