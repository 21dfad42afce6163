"""The async engine, sessions, and the schema's migration state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.errors import NotMigrated, StorageError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite/aiosqlite defer BEGIN until the first write, so two writers can both
    # read and then fail to upgrade their lock (SQLITE_BUSY that busy_timeout cannot
    # wait out). Take the write lock at BEGIN instead: every transaction here is short.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine per process; ``async with db.session() as s`` gives a transaction."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_async_engine(url, echo=echo)
            _configure_sqlite(self.engine)
        else:
            # No pre-ping: it costs a round trip per transaction. A connection that the
            # server dropped fails its transaction, which callers already retry.
            self.engine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
            )
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A plain connection inside one transaction, for Core statements on hot paths
        (no ORM unit of work)."""
        async with self.engine.begin() as conn:
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()

    # --- migrations -------------------------------------------------------------

    async def current_revision(self) -> str | None:
        def read(conn: Connection) -> str | None:
            return MigrationContext.configure(conn).get_current_revision()

        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(read)
        except (OSError, SQLAlchemyError) as exc:
            raise StorageError(f"cannot reach the database: {_short(exc)}") from exc

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (``hotline db upgrade``)."""
        cfg = alembic_config(self.url)
        try:
            # Alembic's env.py runs its own event loop; keep it off ours.
            await asyncio.to_thread(command.upgrade, cfg, "head")
        except (OSError, SQLAlchemyError) as exc:
            raise StorageError(f"database upgrade failed: {_short(exc)}") from exc

    async def ensure_schema(self, *, migrate: bool) -> None:
        """Refuse to run on an out-of-date schema, or bring it up to date if allowed."""
        current, head = await self.current_revision(), self.head_revision()
        if current == head:
            return
        if migrate:
            log.info("migrating the database from %s to %s", current or "empty", head)
            await self.upgrade()
            return
        state = "empty" if current is None else f"at revision {current}"
        raise NotMigrated(
            f"the database is {state}, this hotline needs {head}: run `hotline db upgrade`"
        )


def _short(exc: BaseException) -> str:
    if isinstance(exc, OperationalError) and exc.orig is not None:
        return str(exc.orig).splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
