"""A named lease in the database: held by one node until it expires or is released.

Times come from the database server on PostgreSQL (``clock_timestamp()``), so the
nodes' own clocks do not matter; SQLite is one machine, and its clock is the node's.
``acquire`` both takes a free or expired lease and renews one already held, in one
conditional ``UPDATE`` (or the first ``INSERT``): two nodes can never both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hotline.store.db import Database
from hotline.store.nodes import NodeLease
from hotline.store.types import utcnow

_T: Any = NodeLease.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LeaseState:
    name: str
    holder: str
    term: int
    expires_at: datetime


class Lease:
    def __init__(self, db: Database, name: str, holder: str, seconds: float) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.seconds = seconds

    async def _now(self, conn: AsyncConnection) -> datetime:
        if self.db.is_sqlite:
            return utcnow()
        value = (await conn.execute(select(func.clock_timestamp()))).scalar_one()
        assert isinstance(value, datetime)
        return value

    async def acquire(self) -> LeaseState | None:
        """Take or renew the lease; ``None`` while another node holds it."""
        async with self.db.connection() as conn:
            now = await self._now(conn)
            until = now + timedelta(seconds=self.seconds)
            mine = _T.c.holder == self.holder
            updated = await conn.execute(
                update(_T)
                .where(_T.c.name == self.name, mine | (_T.c.expires_at < now))
                .values(
                    term=case((mine, _T.c.term), else_=_T.c.term + 1),
                    acquired_at=case((mine, _T.c.acquired_at), else_=now),
                    holder=self.holder,
                    expires_at=until,
                )
            )
            if updated.rowcount == 0:
                held = (await conn.execute(select(_T.c.name).where(_T.c.name == self.name))).first()
                if held is not None:
                    return None
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(_T).values(
                                name=self.name,
                                holder=self.holder,
                                term=1,
                                acquired_at=now,
                                expires_at=until,
                            )
                        )
                except IntegrityError:
                    return None  # another node inserted it first
            term = (
                await conn.execute(select(_T.c.term).where(_T.c.name == self.name, mine))
            ).scalar_one_or_none()
        if term is None:
            return None
        return LeaseState(self.name, self.holder, int(term), until)

    async def release(self) -> None:
        """Give the lease up now (a graceful stop), so another node need not wait."""
        async with self.db.connection() as conn:
            now = await self._now(conn)
            await conn.execute(
                update(_T)
                .where(_T.c.name == self.name, _T.c.holder == self.holder)
                .values(expires_at=now)
            )

    async def current(self) -> LeaseState | None:
        async with self.db.connection() as conn:
            row = (
                await conn.execute(
                    select(_T.c.holder, _T.c.term, _T.c.expires_at).where(_T.c.name == self.name)
                )
            ).first()
        if row is None:
            return None
        return LeaseState(self.name, str(row[0]), int(row[1]), row[2])
