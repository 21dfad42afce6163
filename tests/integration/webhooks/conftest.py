from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from hotline.config import Settings
from hotline.service import Hotline
from hotline.webhooks.endpoints import new_secret
from hotline.webhooks.outbox import DELIVER
from hotline.worker import Lane, Worker
from tests.support.receiver import Receiver


@dataclass
class Rig:
    core: Hotline
    receiver: Receiver

    def delivery_worker(self) -> Worker:
        """A worker that only delivers (no speech model needed)."""
        return Worker(
            self.core.queue,
            {DELIVER: self.core.delivery},
            [Lane((DELIVER,), 4)],
            poll_seconds=0.05,
            grace_seconds=2,
        )


@asynccontextmanager
async def open_rig(
    db_url: str, make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Rig]:
    """The hotline core forwarding to a fresh receiver; ``overrides`` change settings."""
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    fields: dict[str, Any] = {
        "database_url": db_url,
        "webhook_url": receiver.url,
        "webhook_secret": secret,
        "forward": "auto",
        "webhook_retry_schedule": ",".join(["0.2"] * 12),
        "webhook_timeout_seconds": 1,
        "job_poll_seconds": 0.05,
        "whisper_model": "bundled-tiny.en",
        "language": "en",
    }
    core = Hotline(make_settings(**(fields | overrides)))
    await core.open(migrate=True)
    try:
        yield Rig(core, receiver)
    finally:
        await core.close()
        await receiver.stop()


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    async with open_rig(db_url, make_settings) as made:
        yield made
