"""A recording belongs to its call: byte-identical files of two calls (or two legs of
one call) are each call's evidence; only a re-offer of the same file for the same call
is idempotent. On SQLite and PostgreSQL, and across the migration that allowed it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import col, select

from hotline import calls as facts
from hotline.evidence.verify import verify
from hotline.service import Hotline
from hotline.store import Database
from hotline.store.db import alembic_config
from hotline.store.tables import AuditEvent, Call, Case, Recording
from tests.support.fixtures import MIXMONITOR_SAMPLE

T0 = datetime(2026, 12, 1, 6, 21, 19, tzinfo=UTC)


async def _call(
    core: Hotline, call_id: str, path: Path, leg: str = "mix"
) -> facts.RecordingFinished:
    await core.intake.handle(
        facts.CallStarted(call_id=call_id, source="asterisk", at=T0, caller="13800138001")
    )
    await core.intake.handle(facts.CallAnswered(call_id=call_id, at=T0))
    return facts.RecordingFinished(
        call_id=call_id,
        at=T0 + timedelta(seconds=30),
        path=path,
        started_at=T0,
        expected_duration=27.6,
        leg=leg,
    )


async def _audit(core: Hotline, action: str) -> list[AuditEvent]:
    async with core.db.session() as s:
        return list(
            (await s.exec(select(AuditEvent).where(col(AuditEvent.action) == action))).all()
        )


async def test_identical_recordings_of_two_calls_are_each_calls_evidence(
    core: Hotline, tmp_path: Path
) -> None:
    one = tmp_path / "hotline-20261201-062119-1796106079.7.wav"
    two = tmp_path / "hotline-20261201-062125-1796106085.8.wav"
    one.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    two.write_bytes(one.read_bytes())
    first = await core.intake.handle(await _call(core, "1796106079.7", one))
    second = await core.intake.handle(await _call(core, "1796106085.8", two))
    assert first is not None and second is not None
    assert not first.duplicate and not second.duplicate
    assert first.call.external_id == "1796106079.7"
    assert second.call.external_id == "1796106085.8"
    assert first.case.id != second.case.id
    assert first.recording.sha256 == second.recording.sha256
    assert first.recording.id != second.recording.id
    assert second.recording.call_id == second.call.id
    sealed = await _audit(core, "recording.sealed")
    opened = await _audit(core, "case.opened")
    assert sorted(e.case_id for e in sealed) == sorted([first.case.id, second.case.id])
    assert sorted(e.case_id for e in opened) == sorted([first.case.id, second.case.id])
    assert await _audit(core, "recording.duplicate") == []
    report = await verify(core.db, core.store)
    assert report.ok and report.recordings_checked == 2


async def test_a_silent_callers_mix_equal_to_the_operator_leg_is_two_recordings(
    core: Hotline, tmp_path: Path
) -> None:
    mix = tmp_path / "hotline-20261201-062110-1796106070.6.wav"
    operator = tmp_path / "hotline-20261201-062110-1796106070.6-operator.wav"
    mix.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    operator.write_bytes(mix.read_bytes())
    fact = await _call(core, "1796106070.6", mix)
    await core.intake.handle(fact)
    await core.intake.handle(
        facts.RecordingFinished(
            call_id="1796106070.6",
            at=fact.at,
            path=operator,
            started_at=T0,
            expected_duration=27.6,
            leg="operator",
        )
    )
    async with core.db.session() as s:
        recs = (await s.exec(select(Recording).order_by(col(Recording.id)))).all()
        cases = (await s.exec(select(Case))).all()
    assert [r.leg for r in recs] == ["mix", "operator"]
    assert len(cases) == 1 and {r.call_id for r in recs} == {cases[0].call_id}


async def test_the_same_file_offered_again_for_its_call_is_sealed_once(
    core: Hotline, tmp_path: Path
) -> None:
    """A restart, a reconnect or the orphan scan offers a file again: nothing new."""
    path = tmp_path / "hotline-20261201-061927-1796105967.0.wav"
    path.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    fact = await _call(core, "1796105967.0", path)
    first = await core.intake.handle(fact)
    again = await core.intake.handle(fact)
    assert first is not None and again is not None
    assert again.duplicate and again.recording.id == first.recording.id
    assert again.case.id == first.case.id and again.incident is None
    async with core.db.session() as s:
        assert len((await s.exec(select(Recording))).all()) == 1
        assert len((await s.exec(select(Case))).all()) == 1
    (dup,) = await _audit(core, "recording.duplicate")
    assert dup.case_id == first.case.id and dup.subject == f"recording:{first.recording.id}"


async def test_the_migration_keeps_recordings_and_lets_identical_bytes_in(db_url: str) -> None:
    cfg = alembic_config(db_url)
    await asyncio.to_thread(command.upgrade, cfg, "0003")
    db = Database(db_url)
    sha = "ab" * 32
    try:
        async with db.connection() as conn:  # rows as revision 0003 held them
            await conn.execute(
                text(
                    "INSERT INTO calls (source, external_id, caller_raw, caller_name, callee,"
                    " state, started_at, end_cause, created_at) VALUES ('asterisk', :ext,"
                    " '', '', '', 'ended', :t, '', :t)"
                ),
                [{"ext": "a", "t": T0}, {"ext": "b", "t": T0}],
            )
            ids = dict((await conn.execute(text("SELECT external_id, id FROM calls"))).all())
            await conn.execute(
                text(
                    "INSERT INTO recordings (sha256, size, stored_path, content_type, codec,"
                    " sample_rate, channels, duration, original_name, call_id, sequence, leg,"
                    " details, sealed_at) VALUES (:sha, 44, 'sha256/ab/x.wav', 'audio/wav',"
                    " 'pcm_s16le', 8000, 1, 2.0, 'a.wav', :call, 0, 'mix', '{}', :t)"
                ),
                {"sha": sha, "call": ids["a"], "t": T0},
            )
        await db.upgrade()
        assert await db.current_revision() == db.head_revision()
        async with db.session() as s:
            (kept,) = (await s.exec(select(Recording))).all()
            assert (kept.sha256, kept.call_id) == (sha, ids["a"])
            assert kept.original_name == "a.wav" and kept.stored_path == "sha256/ab/x.wav"
            s.add(
                Recording(
                    sha256=sha,
                    size=44,
                    stored_path=kept.stored_path,
                    content_type="audio/wav",
                    codec="pcm_s16le",
                    sample_rate=8000,
                    channels=1,
                    duration=2.0,
                    original_name="b.wav",
                    call_id=ids["b"],
                )
            )
        async with db.session() as s:
            rows = (await s.exec(select(Recording).where(col(Recording.sha256) == sha))).all()
            calls = (await s.exec(select(Call))).all()
        assert sorted(r.call_id for r in rows) == sorted(ids.values()) and len(calls) == 2
    finally:
        await db.close()


async def test_a_call_id_and_caller_longer_than_the_table_keeps_are_stored(
    core: Hotline, tmp_path: Path
) -> None:
    """A SIP Call-ID, a caller and a display name are the caller's phone's to choose:
    longer than the columns hold, they are shortened (two long ids stay two calls), not
    refused by PostgreSQL, which would lose the call and its case."""
    first, second = "x" * 200 + "-one", "x" * 200 + "-two"
    for n, call_id in enumerate((first, second)):
        await core.intake.handle(
            facts.CallStarted(
                call_id=call_id,
                source="sip",
                at=T0,
                caller="1" * 100,
                caller_name="名" * 200,
                callee="2" * 100,
            )
        )
        path = tmp_path / f"long-{n}.wav"
        path.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
        done = await core.intake.handle(
            facts.RecordingFinished(call_id=call_id, at=T0, path=path, started_at=T0)
        )
        assert done is not None and not done.duplicate
        assert done.call.source == "sip" and len(done.call.external_id) == 128
    async with core.db.session() as s:
        calls = (await s.exec(select(Call).order_by(col(Call.id)))).all()
        cases = (await s.exec(select(Case))).all()
    assert len(calls) == 2 and len(cases) == 2
    assert calls[0].external_id != calls[1].external_id
    assert calls[0].caller_raw == "1" * 64 and calls[0].caller_name == "名" * 128
