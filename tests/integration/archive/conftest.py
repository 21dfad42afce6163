from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from hotline.config import Settings
from tests.support.web_server import ROLES, WebRig, hotline_core, serve_web


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[WebRig]:
    """A real web server on a migrated database (SQLite, then PostgreSQL), with one user
    per role named after it, the head (负责人) included."""
    settings = make_settings(database_url=db_url, job_poll_seconds=0.05)
    async with hotline_core(settings) as core, serve_web(core) as web_rig:
        for role in ROLES:
            await web_rig.add_user(role, role)
        yield web_rig
