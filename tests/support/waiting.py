"""Waiting, bounded, for something only the database can tell (it sends no events)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlmodel import col, select

from hotline.store.tables import Transcript

if TYPE_CHECKING:
    from hotline.service import Hotline


async def until(check: Callable[[], Awaitable[bool]], *, within: float = 30) -> None:
    """Poll ``check`` until it holds; ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def transcript_version(
    core: Hotline, case_id: int, version: int, *, within: float = 300
) -> Transcript:
    """The case's transcript ``version`` once a worker has written it (a model run on a
    loaded machine may take minutes)."""
    async with asyncio.timeout(within):
        while True:
            async with core.db.session() as s:
                found = (
                    await s.exec(
                        select(Transcript).where(
                            col(Transcript.case_id) == case_id, col(Transcript.version) == version
                        )
                    )
                ).first()
            if found is not None:
                return found
            await asyncio.sleep(0.3)
