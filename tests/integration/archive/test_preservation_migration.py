"""Migration 0006 on both databases: a case ticked ``long_term`` before the flags
existed stays protected, as a flag with the reason ``other`` and its old text."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import bindparam, text

from hotline.store.db import Database, alembic_config
from hotline.store.tables import Case
from hotline.store.types import UTCDateTime

WHEN = datetime(2026, 1, 5, 8, tzinfo=UTC)


async def test_long_term_cases_become_flagged(db_url: str) -> None:
    await asyncio.to_thread(command.upgrade, alembic_config(db_url), "0007")
    db = Database(db_url)
    try:
        async with db.connection() as conn:
            await conn.execute(
                text(
                    "INSERT INTO calls (id, source, external_id, caller_raw, caller_name, "
                    "callee, state, started_at, end_cause, created_at) VALUES "
                    "(1, 'import', 'a', '', '', '', 'ended', :t, '', :t), "
                    "(2, 'import', 'b', '', '', '', 'ended', :t, '', :t), "
                    "(3, 'import', 'c', '', '', '', 'ended', :t, '', :t)"
                ).bindparams(bindparam("t", type_=UTCDateTime())),
                {"t": WHEN},
            )
            for case_id, long_term, reason in (
                (1, True, "当事人信访"),
                (2, True, ""),
                (3, False, "not kept"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO cases (id, number, status, call_id, created_at, "
                        "updated_at, reporter_name, reporter_contact, reporter_anonymous, "
                        "wants_feedback, entity_name, entity_credit_code, entity_address, "
                        "entity_industry, category, description, evidence_leads, "
                        "operator_notes, operator, handler, confidentiality, long_term, "
                        "long_term_reason, external_number, external_status, "
                        "external_stage) VALUES (:id, :number, 'draft', :id, :t, :t, '', "
                        "'', false, false, '', '', '', '', '', '', '', '', '', '', "
                        "'normal', :long_term, :reason, '', '', '')"
                    ).bindparams(bindparam("t", type_=UTCDateTime())),
                    {
                        "id": case_id,
                        "number": f"HL-2026-00000{case_id}",
                        "t": WHEN,
                        "long_term": long_term,
                        "reason": reason,
                    },
                )
        await db.upgrade()
        async with db.session() as s:
            one, two, three = [await s.get(Case, i) for i in (1, 2, 3)]
        assert one is not None and two is not None and three is not None
        assert (one.preservation_reason, one.preservation_note) == ("other", "当事人信访")
        assert one.preserved_at is not None and one.preserved_by == "migration"
        assert two.preservation_reason == "other" and "long_term" in two.preservation_note
        assert (three.preservation_reason, three.preserved_at) == ("", None)

        # And back: the checkbox comes back ticked for the flagged cases.
        await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0007")
        async with db.connection() as conn:
            rows = (await conn.execute(text("SELECT id, long_term FROM cases ORDER BY id"))).all()
        assert [(i, bool(v)) for i, v in rows] == [(1, True), (2, True), (3, False)]
    finally:
        await db.close()
