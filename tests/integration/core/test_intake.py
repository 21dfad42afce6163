"""From a file (or a call source's facts) to a sealed draft case, on both databases."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from hotline import calls as facts
from hotline.errors import RecordingRejected
from hotline.evidence.files import sha256_file
from hotline.evidence.verify import verify
from hotline.intake import TRANSCRIBE
from hotline.service import Hotline
from hotline.store.tables import AuditEvent, Call, Case, Incident, Job, Recording
from tests.support import speech
from tests.support.fixtures import MIXMONITOR_SAMPLE


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def _count(core: Hotline, table: type) -> int:
    async with core.db.session() as s:
        return int((await s.exec(select(func.count()).select_from(table))).one())


async def test_ingest_seals_and_opens_a_draft_case(core: Hotline, tmp_path: Path) -> None:
    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    before = src.stat()
    result = await core.intake.ingest_file(
        src, caller="+8613800138000", started_at=datetime(2026, 11, 28, 0, 11, 59, tzinfo=UTC)
    )
    assert not result.duplicate
    assert result.case.number.startswith("HL-2026-")
    assert result.case.status == "draft"
    # The source file is untouched: copied, never moved.
    assert src.exists() and src.stat().st_mtime == before.st_mtime
    digest, size = sha256_file(src)
    rec = result.recording
    assert (rec.sha256, rec.size) == (digest, size)
    assert rec.duration == pytest.approx(27.58)
    sealed = core.store.path_of(rec.stored_path)
    assert sealed.read_bytes() == src.read_bytes()
    assert not sealed.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert result.call.ended_at == result.call.started_at + timedelta(seconds=27.58)
    async with core.db.session() as s:
        jobs = (await s.exec(select(Job).where(Job.case_id == result.case.id))).all()
        actions = [
            e.action for e in (await s.exec(select(AuditEvent).order_by(AuditEvent.seq))).all()
        ]
    assert [j.kind for j in jobs] == [TRANSCRIBE]
    assert actions == ["call.imported", "recording.sealed", "case.opened", "transcription.queued"]
    assert not list((core.store.root / ".incoming").iterdir())
    report = await verify(core.db, core.store)
    assert report.ok and report.recordings_checked == 1


async def test_the_same_file_twice_is_sealed_once(core: Hotline, tmp_path: Path) -> None:
    a = tmp_path / "a.wav"
    a.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    first = await core.intake.ingest_file(a, caller="13800138000")
    second = await core.intake.ingest_file(a, caller="13900139000")
    assert second.duplicate
    assert second.case.id == first.case.id and second.recording.id == first.recording.id
    assert await _count(core, Recording) == 1
    assert await _count(core, Case) == 1
    assert await _count(core, Call) == 1
    assert len([p for p in _files(core.store.root)]) == 1
    async with core.db.session() as s:
        dup = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "recording.duplicate"))
        ).one()
    assert dup.details["file"] == "a.wav" and dup.case_id == first.case.id


async def test_the_same_bytes_under_another_name_are_another_call(
    core: Hotline, tmp_path: Path
) -> None:
    """Two exported calls can be byte-identical (two callers who hung up during the
    notice): an import is a call, and only the same file is the same call."""
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    b.write_bytes(a.read_bytes())
    first = await core.intake.ingest_file(a, caller="13800138000")
    second = await core.intake.ingest_file(b, caller="13900139000")
    assert not second.duplicate
    assert second.case.id != first.case.id and second.call.id != first.call.id
    assert second.recording.sha256 == first.recording.sha256
    assert second.recording.stored_path == first.recording.stored_path
    assert len(_files(core.store.root)) == 1  # the bytes are stored once
    async with core.db.session() as s:
        sealed = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "recording.sealed"))
        ).all()
    assert sorted(e.case_id for e in sealed) == sorted([first.case.id, second.case.id])
    report = await verify(core.db, core.store)
    assert report.ok and report.recordings_checked == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d / "missing.wav",
        lambda d: (d / "empty.wav", (d / "empty.wav").write_bytes(b""))[0],
        lambda d: (d / "notes.wav", (d / "notes.wav").write_text("not audio at all\n" * 50))[0],
        lambda d: (
            d / "cut.wav",
            (d / "cut.wav").write_bytes(MIXMONITOR_SAMPLE.read_bytes()[:5000]),
        )[0],
    ],
    ids=["missing", "empty", "text", "truncated"],
)
async def test_bad_input_leaves_nothing_behind(core: Hotline, tmp_path: Path, make: object) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(RecordingRejected):
        await core.intake.ingest_file(path, caller="13800138000")
    for table in (Call, Recording, Case, Job, AuditEvent):
        assert await _count(core, table) == 0, table
    assert _files(core.store.root) == []


async def test_a_source_recording_opens_a_case_and_a_short_one_raises_an_incident(
    core: Hotline, tmp_path: Path
) -> None:
    t0 = datetime(2026, 11, 28, 0, 11, 52, tzinfo=UTC)
    await core.intake.handle(
        facts.CallStarted(
            call_id="1795824714.0", source="asterisk", at=t0, caller="caller", callee="12345"
        )
    )
    await core.intake.handle(
        facts.CallAnswered(call_id="1795824714.0", at=t0 + timedelta(seconds=1))
    )
    wav = tmp_path / "hotline-20261128-001159-1795824714.0.wav"
    wav.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    ok = await core.intake.handle(
        facts.RecordingFinished(
            call_id="1795824714.0",
            at=t0 + timedelta(seconds=34),
            path=wav,
            started_at=t0 + timedelta(seconds=6),
            expected_duration=27.9,
        )
    )
    assert ok is not None and ok.incident is None and ok.case.status == "draft"
    await core.intake.handle(
        facts.CallEnded(
            call_id="1795824714.0", at=t0 + timedelta(seconds=34), answered=True, cause="16"
        )
    )
    async with core.db.session() as s:
        call = (await s.exec(select(Call).where(Call.external_id == "1795824714.0"))).one()
    assert call.state == "ended" and call.answered_at == t0 + timedelta(seconds=1)
    assert call.end_cause == "16"

    short = tmp_path / "short.wav"
    speech.tone(short, seconds=3.0, kind="noise")
    await core.intake.handle(
        facts.CallStarted(call_id="c2", source="sip", at=t0, caller="13800138000")
    )
    res = await core.intake.handle(
        facts.RecordingFinished(
            call_id="c2",
            at=t0 + timedelta(seconds=30),
            path=short,
            started_at=t0,
            expected_duration=30.0,
        )
    )
    assert res is not None and res.incident is not None
    assert res.incident.kind == "recording.incomplete"
    assert "lasts 3.00 s" in res.incident.detail and res.incident.case_id == res.case.id
    async with core.db.session() as s:
        incidents = (await s.exec(select(Incident))).all()
        audit = [e.action for e in (await s.exec(select(AuditEvent))).all()]
    assert len(incidents) == 1
    assert "incident.recording.incomplete" in audit
    assert "call.answered" in audit and "call.ended" in audit


async def test_an_unannounced_recording_is_adopted(core: Hotline, tmp_path: Path) -> None:
    wav = tmp_path / "orphan.wav"
    wav.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    now = datetime.now(UTC)
    res = await core.intake.handle(
        facts.RecordingFinished(call_id="never-seen", at=now, path=wav, started_at=now)
    )
    assert res is not None and res.call.source == "recovered"
    assert await _count(core, Case) == 1


async def test_unrecorded_incident_is_kept(core: Hotline) -> None:
    now = datetime.now(UTC)
    await core.intake.handle(facts.CallStarted(call_id="x", source="asterisk", at=now, caller="1"))
    await core.intake.handle(
        facts.Incident(
            kind=facts.IncidentKind.UNRECORDED, at=now, call_id="x", detail="no MixMonitor"
        )
    )
    async with core.db.session() as s:
        inc = (await s.exec(select(Incident))).one()
        call = (await s.exec(select(Call).where(col(Call.external_id) == "x"))).one()
    assert inc.kind == "call.unrecorded" and inc.call_id == call.id


async def test_store_refuses_to_overwrite_evidence(core: Hotline, tmp_path: Path) -> None:
    """Sealing never replaces a file: a sealed name with other bytes is an alarm."""
    src = tmp_path / "a.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    staged = core.store.stage(src)
    first = await core.store.seal(staged)
    assert not first.reused and first.ref.version is None
    sealed = core.store.path_of(first.key)
    os.chmod(sealed, 0o644)
    with sealed.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff")
    again = core.store.stage(src)
    with pytest.raises(Exception, match="exists with different content"):
        await core.store.seal(again)
    assert not list((core.store.root / ".incoming").iterdir())
