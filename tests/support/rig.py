"""The core on a migrated database with a case system that verifies every webhook it
receives: shared by the webhook and evidence tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
async def running_rig(settings_for: Callable[[str, str], Settings]) -> AsyncIterator[Rig]:
    """``settings_for(webhook_url, webhook_secret)`` gives the core's settings."""
    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    try:
        core = Hotline(settings_for(receiver.url, secret))
        await core.open(migrate=True)
        try:
            yield Rig(core, receiver)
        finally:
            await core.close()
    finally:
        await receiver.stop()
