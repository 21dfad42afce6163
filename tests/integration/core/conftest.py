from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hotline.config import Settings
from hotline.service import Hotline


@pytest.fixture
async def core(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Hotline]:
    """The hotline core on a migrated database, once on SQLite and once on PostgreSQL."""
    hotline = Hotline(
        make_settings(database_url=db_url, job_lease_seconds=2, job_backoff_seconds=0.2)
    )
    await hotline.open(migrate=True)
    yield hotline
    await hotline.close()


@pytest.fixture
def settings_for(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(db_url: str, **kw: Any) -> Settings:
        return make_settings(database_url=db_url, **kw)

    return make
