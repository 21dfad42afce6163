from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from hotline.config import Settings
from tests.support.rig import Rig, running_rig


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    def settings_for(url: str, secret: str) -> Settings:
        return make_settings(
            database_url=db_url,
            webhook_url=url,
            webhook_secret=secret,
            forward="auto",
            webhook_retry_schedule=",".join(["0.2"] * 12),
            webhook_timeout_seconds=1,
            job_poll_seconds=0.05,
            whisper_model="bundled-tiny.en",
            language="en",
        )

    async with running_rig(settings_for) as rig:
        yield rig
