from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

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


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    settings = make_settings(
        database_url=db_url,
        webhook_url=receiver.url,
        webhook_secret=secret,
        forward="auto",
        webhook_retry_schedule=",".join(["0.2"] * 12),
        webhook_timeout_seconds=1,
        job_poll_seconds=0.05,
        whisper_model="bundled-tiny.en",
        language="en",
    )
    core = Hotline(settings)
    await core.open(migrate=True)
    yield Rig(core, receiver)
    await core.close()
    await receiver.stop()
