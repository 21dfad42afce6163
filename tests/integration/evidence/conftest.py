from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from hotline.config import Settings
from tests.support.rig import Rig, running_rig


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
    async with running_rig(
        lambda url, secret: rig_settings(webhook_url=url, webhook_secret=secret)
    ) as rig:
        yield rig
