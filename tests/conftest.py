"""Fixtures shared by every tier: databases (SQLite and a fresh PostgreSQL database per
test), settings pointing at a temporary data directory, and the installed command."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from hotline.config import Settings, load_settings

if TYPE_CHECKING:
    from tests.support.seaweed import Seaweed

PG_ADMIN_DSN = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_dsn(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL); dropped afterwards."""
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _pg_dsn(name).replace("postgresql://", "postgresql+asyncpg://")
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test."""
    async with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    else:
        async with fresh_pg_database() as url:
            yield url


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a temporary data directory; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        # A nearly full test disk must not turn every health check "degraded".
        env = {
            "HOTLINE_DATA_DIR": str(tmp_path / "data"),
            "HOTLINE_SIP": "off",
            "HOTLINE_EVIDENCE_MIN_FREE_MB": "16",
        }
        for key, value in overrides.items():
            env[f"HOTLINE_{key.upper()}"] = str(value)
        return load_settings(environ=env)

    return make


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """A real S3 server with Object Lock (SeaweedFS on loopback), shared by the session;
    each test makes its own bucket."""
    from tests.support.seaweed import Seaweed

    server = Seaweed(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


def hotline_command() -> str:
    """The installed ``hotline`` console script of this interpreter's environment."""
    found = Path(sys.executable).parent / "hotline"
    if found.exists():
        return str(found)
    which = shutil.which("hotline")
    if which is None:
        raise RuntimeError("the hotline command is not installed: run `make test`")
    return which


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for running the installed command on a fresh data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        {
            "HOTLINE_DATA_DIR": str(tmp_path / "hotline-data"),
            "HOTLINE_SIP": "off",
            "HOTLINE_EVIDENCE_MIN_FREE_MB": "16",
            "PYTHONUNBUFFERED": "1",
        }
    )
    yield env
