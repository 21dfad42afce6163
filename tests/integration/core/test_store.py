"""The store on SQLite and PostgreSQL: migrations, times, case numbers, the audit chain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import select

from hotline.cases import next_case_number
from hotline.config import Settings
from hotline.errors import NotMigrated
from hotline.evidence.audit import append_audit
from hotline.evidence.verify import VerifyReport, verify_chain
from hotline.service import Hotline
from hotline.store import Database
from hotline.store.tables import AuditEvent, Call


async def test_an_unmigrated_database_is_refused_with_what_to_run(db_url: str) -> None:
    db = Database(db_url)
    try:
        with pytest.raises(NotMigrated, match="run `hotline db upgrade`"):
            await db.ensure_schema(migrate=False)
        await db.upgrade()
        await db.ensure_schema(migrate=False)  # now it passes
        assert await db.current_revision() == db.head_revision()
        await db.upgrade()  # idempotent
    finally:
        await db.close()


async def test_times_come_back_aware_utc(core: Hotline) -> None:
    shanghai = timezone(timedelta(hours=8))
    started = datetime(2026, 11, 28, 9, 30, 0, 123456, tzinfo=shanghai)
    async with core.db.session() as s:
        s.add(Call(source="import", external_id="t1", started_at=started))
    async with core.db.session() as s:
        call = (await s.exec(select(Call).where(Call.external_id == "t1"))).one()
    assert call.started_at == started
    assert call.started_at.tzinfo is not None
    assert call.started_at.utcoffset() == timedelta(0)


async def test_naive_times_are_a_programming_error(core: Hotline) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with core.db.session() as s:
            s.add(Call(source="import", external_id="t2", started_at=datetime(2026, 1, 1)))
            await s.flush()


async def test_case_numbers_are_unique_under_concurrency(core: Hotline) -> None:
    when = datetime(2026, 6, 1, tzinfo=UTC)

    async def one() -> str:
        async with core.db.session() as s:
            return await next_case_number(s, "HL", when, core.settings.tz)

    numbers = await asyncio.gather(*(one() for _ in range(25)))
    assert len(set(numbers)) == 25
    assert sorted(numbers)[0] == "HL-2026-000001"
    assert sorted(numbers)[-1] == "HL-2026-000025"
    # A new year starts a new sequence; the year is the agency's local year.
    new_year_eve_utc = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 Jan in Shanghai
    async with core.db.session() as s:
        assert (
            await next_case_number(s, "HL", new_year_eve_utc, core.settings.tz) == "HL-2027-000001"
        )


async def test_audit_chain_appends_in_order_and_detects_tampering(core: Hotline) -> None:
    async def add(i: int) -> None:
        async with core.db.session() as s:
            await append_audit(s, actor=f"test:{i}", action="case.changed", details={"i": i})

    await asyncio.gather(*(add(i) for i in range(20)))
    report = VerifyReport()
    await verify_chain(core.db, report)
    assert report.broken_link is None and report.events_checked == 20
    async with core.db.session() as s:
        seqs = [e.seq for e in (await s.exec(select(AuditEvent).order_by(AuditEvent.seq))).all()]
    assert seqs == list(range(1, 21))

    # A rolled-back change leaves no audit event behind.
    with pytest.raises(RuntimeError):
        async with core.db.session() as s:
            await append_audit(s, actor="test", action="case.changed")
            raise RuntimeError("the change failed")
    report = VerifyReport()
    await verify_chain(core.db, report)
    assert report.events_checked == 20 and report.broken_link is None

    async with core.db.session() as s:
        await s.exec(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 7"))
    report = VerifyReport()
    await verify_chain(core.db, report)
    assert report.broken_link is not None
    assert report.broken_link.seq == 7
    assert "altered" in report.broken_link.reason


async def test_a_deleted_audit_event_is_named(core: Hotline) -> None:
    for i in range(5):
        async with core.db.session() as s:
            await append_audit(s, actor="test", action="x", details={"i": i})
    async with core.db.session() as s:
        await s.exec(text("DELETE FROM audit_events WHERE seq = 3"))
    report = VerifyReport()
    await verify_chain(core.db, report)
    assert report.broken_link is not None and report.broken_link.seq == 3
    assert "missing" in report.broken_link.reason


async def test_serve_refuses_unmigrated_postgres(
    pg_url: str, make_settings: Callable[..., Settings]
) -> None:
    """On a shared database, upgrades are the administrator's step, not a side effect."""
    core = Hotline(make_settings(database_url=pg_url))
    try:
        with pytest.raises(NotMigrated, match="hotline db upgrade"):
            await core.open()
    finally:
        await core.close()
