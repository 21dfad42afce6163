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
        return Worker(
            self.core.queue,
            {DELIVER: self.core.delivery},
            [Lane((DELIVER,), 4)],
            poll_seconds=0.05,
            grace_seconds=2,
        )


@pytest.fixture
def rig_settings(db_url: str, make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        return make_settings(
            database_url=db_url,
            webhook_retry_schedule=",".join(["0.2"] * 12),
            webhook_timeout_seconds=2,
            job_poll_seconds=0.05,
            job_backoff_seconds=0.1,
            **overrides,
        )

    return make


@pytest.fixture
async def rig(rig_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    """The core on a migrated database (SQLite, then PostgreSQL) with a case system that
    verifies every webhook it receives."""
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    core = Hotline(rig_settings(webhook_url=receiver.url, webhook_secret=secret))
    await core.open(migrate=True)
    try:
        yield Rig(core, receiver)
    finally:
        await core.close()
        await receiver.stop()
