"""Migration 0005 on both databases: the old free confidentiality values become levels
(``normal`` → ``personal``, the old state-secret grades → ``state``), and existing users
keep their role with no extra one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

from hotline.store.db import alembic_config
from hotline.store.types import UTCDateTime


def _sql(statement: str) -> TextClause:
    return text(statement).bindparams(bindparam("t", type_=UTCDateTime()))


async def test_old_confidentiality_values_become_levels(db_url: str) -> None:
    cfg = alembic_config(db_url)
    await asyncio.to_thread(command.upgrade, cfg, "0004")
    engine = create_async_engine(db_url)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                _sql(
                    "INSERT INTO users (username, display_name, role, password_hash, language,"
                    " disabled, must_change_password, created_at, password_changed_at)"
                    " VALUES ('root', '', 'admin', 'x', '', false, false, :t, :t)"
                ),
                {"t": now},
            )
            for n, value in enumerate(("normal", "confidential", "secret", "odd"), start=1):
                await conn.execute(
                    _sql(
                        "INSERT INTO calls (id, source, external_id, caller_raw, caller_name,"
                        " callee, state, started_at, end_cause, created_at)"
                        " VALUES (:n, 'import', :e, '', '', '', 'ended', :t, '', :t)"
                    ),
                    {"n": n, "e": f"c{n}", "t": now},
                )
                await conn.execute(
                    _sql(
                        "INSERT INTO cases (id, number, status, call_id, created_at, updated_at,"
                        " reporter_name, reporter_contact, reporter_anonymous, wants_feedback,"
                        " entity_name, entity_credit_code, entity_address, entity_industry,"
                        " category, description, evidence_leads, operator_notes, operator,"
                        " handler, confidentiality, long_term, long_term_reason,"
                        " external_number, external_status, external_stage)"
                        " VALUES (:n, :num, 'draft', :n, :t, :t, '', '', false, false, '', '',"
                        " '', '', '', '', '', '', '', '', :c, false, '', '', '', '')"
                    ),
                    {"n": n, "num": f"HL-2026-{n:06d}", "t": now, "c": value},
                )
        await asyncio.to_thread(command.upgrade, cfg, "0005")
        async with engine.connect() as conn:
            levels = dict(
                (await conn.execute(text("SELECT number, confidentiality FROM cases"))).all()
            )
            extra = (await conn.execute(text("SELECT extra_roles FROM users"))).scalar_one()
    finally:
        await engine.dispose()
    assert levels == {
        "HL-2026-000001": "personal",
        "HL-2026-000002": "state",
        "HL-2026-000003": "state",
        "HL-2026-000004": "personal",
    }
    assert extra == ""
