"""A new leader of the PBX first notes what the previous leaders sealed, so its orphan
scan does not offer their recordings again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from hotline.ami import AsteriskSource
from hotline.ami.pickup import FileLedger
from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.tables import Case, Recording
from tests.integration.ami.test_source import SPEED, config
from tests.support.ami_simulator import AMISimulator

pytestmark = pytest.mark.timeout(60)


async def test_the_ledger_holds_what_other_nodes_sealed(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    shared = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    previous = Hotline(make_settings(database_url=shared))
    await previous.open(migrate=True)
    try:
        async with (
            asyncio.timeout(40),
            AMISimulator("answered-call", recordings_dir=tmp_path, speed=SPEED) as sim,
            AsteriskSource(config(sim, tmp_path), previous.on_fact, time_scale=SPEED),
        ):
            while True:
                async with previous.db.session() as s:
                    if (await s.exec(select(Case))).first() is not None:
                        break
                await asyncio.sleep(0.05)
        async with previous.db.session() as s:
            (rec,) = (await s.exec(select(Recording))).all()
    finally:
        await previous.close()

    # Another node (its own data directory) on the same database takes over.
    successor = Hotline(make_settings(database_url=shared, data_dir=tmp_path / "node-b"))
    await successor.open()
    try:
        ledger_path = tmp_path / "node-b" / "asterisk-recordings.seen"
        assert not ledger_path.exists()
        await successor.share_pbx_ledger()
    finally:
        await successor.close()
    size = (tmp_path / rec.original_name).stat().st_size
    assert FileLedger(ledger_path).seen(rec.original_name, size)
