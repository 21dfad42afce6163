"""``hotline verify`` holds each recording's row to what its ``recording.sealed`` event
sealed: whoever can write the database (and the evidence directory) cannot delete a
recording, swap its audio for other audio with its hash, point it at another call's
bytes or move it to another call without ``verify`` naming it. On SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from hotline import calls as facts
from hotline.evidence.verify import VerifyReport, verify
from hotline.service import Hotline
from tests.support.fixtures import MIXMONITOR_SAMPLE

T0 = datetime(2026, 12, 1, 6, 21, 19, tzinfo=UTC)


async def _seal(core: Hotline, call_id: str, path: Path) -> None:
    await core.intake.handle(
        facts.CallStarted(call_id=call_id, source="asterisk", at=T0, caller="13800138001")
    )
    await core.intake.handle(facts.CallAnswered(call_id=call_id, at=T0))
    done = await core.intake.handle(
        facts.RecordingFinished(
            call_id=call_id,
            at=T0 + timedelta(seconds=30),
            path=path,
            started_at=T0,
            expected_duration=27.6,
        )
    )
    assert done is not None and not done.duplicate


@pytest.fixture
async def two(core: Hotline, tmp_path: Path) -> Hotline:
    """Two calls, each with its own recording (ids 1 and 2), verified intact."""
    one = tmp_path / "hotline-20261201-062119-1796106079.7.wav"
    other = tmp_path / "hotline-20261201-062125-1796106085.8.wav"
    data = MIXMONITOR_SAMPLE.read_bytes()
    one.write_bytes(data)
    other.write_bytes(data[:-2] + b"\x01\x02")  # the last sample differs
    await _seal(core, "1796106079.7", one)
    await _seal(core, "1796106085.8", other)
    report = await verify(core.db, core.store)
    assert report.ok and report.recordings_checked == 2, report.failures
    return core


async def _sql(core: Hotline, statement: str, **params: object) -> None:
    async with core.db.connection() as conn:
        await conn.execute(text(statement), params)


async def _row(core: Hotline, rid: int) -> tuple[str, str, int]:
    async with core.db.connection() as conn:
        found = (
            await conn.execute(
                text("SELECT sha256, stored_path, call_id FROM recordings WHERE id = :id"),
                {"id": rid},
            )
        ).one()
    return str(found[0]), str(found[1]), int(found[2])


def _problems(report: VerifyReport) -> set[tuple[int, str]]:
    return {(p.recording_id, p.problem) for p in report.recordings}


async def test_a_recording_deleted_with_its_file_is_named(two: Hotline) -> None:
    _sha, path, _call = await _row(two, 2)
    await _sql(two, "DELETE FROM recordings WHERE id = 2")
    stored = two.store.root / path
    stored.chmod(0o600)
    stored.unlink()
    report = await verify(two.db, two.store)
    assert not report.ok
    assert _problems(report) == {(2, "deleted")}
    (failure,) = report.failures
    assert failure.startswith("recording 2 is gone: sealed in event")
    assert _sha in failure


async def test_audio_swapped_with_its_hash_is_named(two: Hotline, tmp_path: Path) -> None:
    sealed_sha, path, _call = await _row(two, 2)
    forged = MIXMONITOR_SAMPLE.read_bytes()[:-2] + b"\x7f\x7f"
    stored = two.store.root / path
    stored.chmod(0o600)
    stored.write_bytes(forged)
    forged_sha = hashlib.sha256(forged).hexdigest()
    await _sql(two, "UPDATE recordings SET sha256 = :sha WHERE id = 2", sha=forged_sha)
    report = await verify(two.db, two.store)
    assert not report.ok
    # The bytes match the rewritten row, but not what was sealed, nor their own address.
    assert _problems(report) == {(2, "altered"), (2, "misfiled")}
    altered = next(p for p in report.recordings if p.problem == "altered")
    assert altered.detail is not None and sealed_sha in altered.detail
    assert forged_sha in altered.detail


async def test_a_row_pointed_at_another_calls_bytes_is_named(two: Hotline) -> None:
    sha, path, _call = await _row(two, 1)
    await _sql(
        two, "UPDATE recordings SET sha256 = :sha, stored_path = :p WHERE id = 2", sha=sha, p=path
    )
    report = await verify(two.db, two.store)
    assert not report.ok
    assert _problems(report) == {(2, "altered")}
    # Its own bytes are still there, named by no recording: a note, not the failure.
    assert len(report.unclaimed) == 1


async def test_a_recording_moved_to_another_call_is_named(two: Hotline) -> None:
    _sha, _path, first_call = await _row(two, 1)
    await _sql(two, "UPDATE recordings SET call_id = :c WHERE id = 2", c=first_call)
    report = await verify(two.db, two.store)
    assert not report.ok
    assert _problems(report) == {(2, "altered")}
    (problem,) = report.recordings
    assert problem.detail is not None and "sealed into case id" in problem.detail


async def test_a_row_no_event_sealed_is_named(two: Hotline) -> None:
    await _sql(
        two,
        "INSERT INTO recordings (sha256, size, stored_path, content_type, codec, sample_rate,"
        " channels, duration, original_name, call_id, sequence, leg, sealed_at, details)"
        " SELECT sha256, size, stored_path, content_type, codec, sample_rate, channels,"
        " duration, original_name, call_id, sequence + 1, leg, sealed_at, details"
        " FROM recordings WHERE id = 1",
    )
    report = await verify(two.db, two.store)
    assert not report.ok
    assert _problems(report) == {(3, "unsealed")}
