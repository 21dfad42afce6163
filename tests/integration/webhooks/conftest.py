from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from hotline.config import Settings
from tests.support.rig import Rig, running_rig


@asynccontextmanager
async def open_rig(
    db_url: str, make_settings: Callable[..., Settings], **overrides: Any
) -> AsyncIterator[Rig]:
    """The hotline core forwarding to a fresh receiver; ``overrides`` change settings."""

    def settings_for(url: str, secret: str) -> Settings:
        fields: dict[str, Any] = {
            "database_url": db_url,
            "webhook_url": url,
            "webhook_secret": secret,
            "forward": "auto",
            "webhook_retry_schedule": ",".join(["0.2"] * 12),
            "webhook_timeout_seconds": 1,
            "job_poll_seconds": 0.05,
            "whisper_model": "bundled-tiny.en",
            "language": "en",
        }
        return make_settings(**(fields | overrides))

    async with running_rig(settings_for) as rig:
        yield rig


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Rig]:
    async with open_rig(db_url, make_settings) as made:
        yield made
