"""Legal holds follow the preservation flags on a real S3 server under Object Lock
(SeaweedFS on loopback), read back through S3 with boto3: a flag holds the case's
object; identical bytes from two calls are one object, held while either case is
preserved; a recording sealed later into a preserved case is held too; an object store
that is down when the flag is set gets the hold once it is back; `hotline verify` names
an object without its hold and a hold no case needs; on the local directory flags work
as before and nothing is queued; cases flagged before the upgrade get their holds."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from botocore.exceptions import ClientError
from sqlalchemy import text
from sqlmodel import col, select

from hotline import calls as facts
from hotline.archive import preservation
from hotline.config import Settings
from hotline.evidence.audit import append_audit
from hotline.evidence.holds import LEGAL_HOLD
from hotline.evidence.verify import verify
from hotline.service import Hotline
from hotline.store.db import alembic_config
from hotline.store.tables import AuditEvent, Case, Job, JobStatus, Recording
from hotline.worker import Lane, Worker
from tests.conftest import hotline_command
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed
from tests.support.tcp_gate import Gate
from tests.support.waiting import until
from tests.support.web_data import make_wav

pytestmark = pytest.mark.timeout(120)

HEAD = "user:head"


def s3_env(seaweed: Seaweed, bucket: str, endpoint: str | None = None) -> dict[str, Any]:
    return {
        "evidence_url": f"s3://{bucket}/hotline",
        "s3_endpoint_url": endpoint or seaweed.endpoint,
        "s3_access_key_id": ACCESS_KEY,
        "s3_secret_access_key": SECRET_KEY,
        "job_poll_seconds": 0.05,
    }


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Hotline]:
    core = Hotline(settings)
    await core.open(migrate=True)
    try:
        yield core
    finally:
        await core.close()


@asynccontextmanager
async def hold_worker(core: Hotline) -> AsyncIterator[Worker]:
    """The legal-hold jobs only (as `hotline worker` runs them; no speech model)."""
    worker = Worker(
        core.queue, {LEGAL_HOLD: core.holds}, [Lane((LEGAL_HOLD,), 2)], poll_seconds=0.05
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def hold_jobs(core: Hotline) -> list[Job]:
    async with core.db.session() as s:
        query = select(Job).where(col(Job.kind) == LEGAL_HOLD).order_by(col(Job.id))
        return list((await s.exec(query)).all())


async def settled(core: Hotline) -> None:
    """Every hold job has run to its end."""

    async def done() -> bool:
        return all(j.status == JobStatus.DONE for j in await hold_jobs(core))

    await until(done, within=60)


async def mark(core: Hotline, number: str, reason: str = "party_objection") -> None:
    async with core.db.session() as s:
        case = (await s.exec(select(Case).where(Case.number == number))).one()
        await preservation.mark(s, case, reason, "", actor="user:li", outbox=core.outbox)


async def lift(core: Hotline, number: str) -> None:
    async with core.db.session() as s:
        case = (await s.exec(select(Case).where(Case.number == number))).one()
        await preservation.lift(s, case, "复议结束", actor=HEAD, outbox=core.outbox)


def hold_of(seaweed: Seaweed, bucket: str, rec: Recording) -> str:
    """The object's legal hold as S3 reports it."""
    try:
        got = seaweed.client().get_object_legal_hold(
            Bucket=bucket, Key=f"hotline/{rec.stored_path}", VersionId=rec.object_version
        )
    except ClientError as exc:  # S3 answers an error for an object never held
        assert exc.response["Error"]["Code"] == "NoSuchObjectLegalHold", exc
        return "never"
    return str(got["LegalHold"]["Status"])


async def hold_events(core: Hotline) -> list[tuple[str, int | None, dict[str, Any]]]:
    async with core.db.session() as s:
        rows = (
            await s.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action).startswith("recording.legal_hold"))
                .order_by(col(AuditEvent.seq))
            )
        ).all()
    return [(e.action, e.case_id, e.details) for e in rows]


async def test_a_shared_object_is_held_while_any_of_its_cases_is_preserved(
    seaweed: Seaweed, make_settings: Callable[..., Settings], db_url: str, tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    settings = make_settings(**s3_env(seaweed, bucket), database_url=db_url)
    wav = make_wav(tmp_path / "a.wav", seed=1)
    twin = tmp_path / "b.wav"
    twin.write_bytes(wav.read_bytes())
    async with opened(settings) as core, hold_worker(core):
        first = await core.intake.ingest_file(wav, caller="13800138000")
        second = await core.intake.ingest_file(twin, caller="13900139000")
        a, b = first.case.number, second.case.number
        rec = first.recording
        assert second.recording.object_version == rec.object_version  # one object
        assert hold_of(seaweed, bucket, rec) == "never"

        await mark(core, a)
        await settled(core)
        assert hold_of(seaweed, bucket, rec) == "ON"
        await mark(core, b, "obstruction")
        await settled(core)
        assert hold_of(seaweed, bucket, rec) == "ON"
        assert (await verify(core.db, core.store)).ok

        await lift(core, a)
        await settled(core)
        assert hold_of(seaweed, bucket, rec) == "ON"  # b still needs it
        await lift(core, b)
        await settled(core)
        assert hold_of(seaweed, bucket, rec) == "OFF"
        assert (await verify(core.db, core.store)).ok

        events = await hold_events(core)
    assert [(action, case_id) for action, case_id, _ in events] == [
        ("recording.legal_hold_set", first.case.id),
        ("recording.legal_hold_kept", first.case.id),
        ("recording.legal_hold_cleared", second.case.id),
    ]
    set_, kept, cleared = (details for _, _, details in events)
    assert set_["cases"] == [a] and set_["version"] == rec.object_version
    assert set_["key"] == rec.stored_path and set_["sha256"] == rec.sha256
    assert kept["cases"] == [b] and cleared["cases"] == []
    assert cleared["recordings"] == [second.recording.id]


async def test_a_recording_sealed_into_a_preserved_case_is_held(
    seaweed: Seaweed, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    async with opened(make_settings(**s3_env(seaweed, bucket))) as core, hold_worker(core):
        await core.intake.handle(
            facts.CallStarted(call_id="c-1", source="asterisk", at=t0, caller="13800138000")
        )
        before = await core.intake.handle(
            facts.RecordingFinished(
                call_id="c-1", at=t0, path=make_wav(tmp_path / "one.wav", seed=1), started_at=t0
            )
        )
        assert before is not None
        await mark(core, before.case.number, "mass_incident")
        await settled(core)
        # A transfer split the call: its second part is sealed after the flag was set.
        later = await core.intake.handle(
            facts.RecordingFinished(
                call_id="c-1",
                at=t0 + timedelta(seconds=30),
                path=make_wav(tmp_path / "two.wav", seed=2),
                started_at=t0 + timedelta(seconds=5),
                sequence=1,
            )
        )
        assert later is not None and later.case.id == before.case.id
        assert later.recording.stored_path != before.recording.stored_path
        await settled(core)
        assert hold_of(seaweed, bucket, before.recording) == "ON"
        assert hold_of(seaweed, bucket, later.recording) == "ON"
        assert [j.payload["why"] for j in await hold_jobs(core)] == ["marked", "sealed"]
        assert (await verify(core.db, core.store)).ok


async def test_an_object_store_down_when_flagging_gets_the_hold_once_it_is_back(
    seaweed: Seaweed, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    gate = Gate(int(seaweed.endpoint.rsplit(":", 1)[1]))
    await gate.open()
    settings = make_settings(**s3_env(seaweed, bucket, gate.url), job_backoff_seconds=0.2)
    try:
        async with opened(settings) as core:
            made = await core.intake.ingest_file(
                make_wav(tmp_path / "a.wav", seed=3), caller="13800138000"
            )
            await gate.shut()
            await mark(core, made.case.number)  # the flag does not wait for the store
            async with core.db.session() as s:
                case = await s.get(Case, made.case.id)
            assert case is not None and case.preservation_reason == "party_objection"

            async with hold_worker(core):

                async def tried() -> bool:
                    (job,) = await hold_jobs(core)
                    return job.attempts >= 1 and job.status == JobStatus.QUEUED

                await until(tried, within=60)
                (job,) = await hold_jobs(core)
                assert "cannot read the legal hold" in job.last_error, job.last_error
                assert hold_of(seaweed, bucket, made.recording) == "never"
                await gate.open()
                await settled(core)
            assert hold_of(seaweed, bucket, made.recording) == "ON"
            (job,) = await hold_jobs(core)
            assert job.attempts >= 2 and job.status == JobStatus.DONE
            assert [a for a, _, _ in await hold_events(core)] == ["recording.legal_hold_set"]
    finally:
        await gate.shut()


async def test_verify_names_a_missing_hold_and_a_stray_one(
    seaweed: Seaweed,
    make_settings: Callable[..., Settings],
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    bucket = seaweed.bucket()
    settings = make_settings(**s3_env(seaweed, bucket), data_dir=cli_env["HOTLINE_DATA_DIR"])
    async with opened(settings) as core:
        kept = await core.intake.ingest_file(make_wav(tmp_path / "a.wav", seed=4), caller="1")
        other = await core.intake.ingest_file(make_wav(tmp_path / "b.wav", seed=5), caller="2")
        await mark(core, kept.case.number)
        # Before the job has run, the difference is on its way: a note, no failure.
        waiting = await verify(core.db, core.store)
        assert waiting.ok, waiting.failures
        (note,) = waiting.sections[0].notes
        assert f"recording {kept.recording.id}" in note and "yet to run" in note
        async with hold_worker(core):
            await settled(core)
        assert (await verify(core.db, core.store)).ok

        # Someone allowed to change holds takes this one off, and puts one elsewhere.
        client = seaweed.client()
        for rec, status in ((kept.recording, "OFF"), (other.recording, "ON")):
            client.put_object_legal_hold(
                Bucket=bucket,
                Key=f"hotline/{rec.stored_path}",
                VersionId=rec.object_version,
                LegalHold={"Status": status},
            )
        report = await verify(core.db, core.store)
    assert not report.ok
    unheld, stray = report.recordings
    assert (unheld.recording_id, unheld.problem, unheld.case) == (
        kept.recording.id,
        "no-legal-hold",
        kept.case.number,
    )
    assert f"case {kept.case.number} is preserved" in (unheld.detail or "")
    assert (stray.recording_id, stray.problem, stray.case) == (
        other.recording.id,
        "stray-legal-hold",
        other.case.number,
    )

    env = {
        **cli_env,
        "HOTLINE_EVIDENCE_URL": f"s3://{bucket}/hotline",
        "AWS_ENDPOINT_URL": seaweed.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [hotline_command(), *args], env=env, capture_output=True, text=True, timeout=60
        )

    run = await asyncio.to_thread(command, "verify")
    assert run.returncode == 1, run.stdout + run.stderr
    assert (
        f"UNHELD   recording {kept.recording.id}: {kept.recording.stored_path} version "
        f"{kept.recording.object_version}: no legal hold, but case {kept.case.number} "
        "is preserved"
    ) in run.stdout
    assert f"HELD     recording {other.recording.id}:" in run.stdout
    assert f"(case {other.case.number})" in run.stdout
    data = json.loads((await asyncio.to_thread(command, "verify", "--json")).stdout)
    assert [(p["problem"], p["case"]) for p in data["recordings"]] == [
        ("no-legal-hold", kept.case.number),
        ("stray-legal-hold", other.case.number),
    ]


async def test_on_the_local_directory_flags_work_as_before(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with opened(make_settings()) as core:
        made = await core.intake.ingest_file(make_wav(tmp_path / "a.wav", seed=6), caller="1")
        await mark(core, made.case.number)
        await lift(core, made.case.number)
        assert await hold_jobs(core) == []
        assert await core.store.legal_hold_state(core.store.ref(made.recording)) is None
        assert await core.store.legal_hold(core.store.ref(made.recording), True) is False
        report = await verify(core.db, core.store)
        assert report.ok and report.recordings_checked == 1
        async with core.db.session() as s:
            actions = [e.action for e in (await s.exec(select(AuditEvent))).all()]
    assert "case.preservation_marked" in actions and "case.preservation_lifted" in actions
    assert not [a for a in actions if a.startswith("recording.legal_hold")]


async def test_cases_flagged_before_the_upgrade_get_their_holds(
    seaweed: Seaweed, make_settings: Callable[..., Settings], db_url: str, tmp_path: Path
) -> None:
    """Migration 0010: a case flagged while flags did not yet bring holds."""
    bucket = seaweed.bucket()
    settings = make_settings(**s3_env(seaweed, bucket), database_url=db_url)
    async with opened(settings) as core:
        made = await core.intake.ingest_file(make_wav(tmp_path / "a.wav", seed=7), caller="1")
        plain = await core.intake.ingest_file(make_wav(tmp_path / "b.wav", seed=8), caller="2")
        await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0006")
        async with core.db.connection() as conn:
            await conn.execute(
                text("UPDATE cases SET preservation_reason = 'other' WHERE id = :id"),
                {"id": made.case.id},
            )
        async with core.db.session() as s:  # as flagging wrote it then
            await append_audit(
                s,
                actor="user:handler",
                action="case.preservation_marked",
                subject=f"case:{made.case.id}",
                case_id=made.case.id,
                details={"number": made.case.number, "reason": "other", "note": "异议"},
            )
        await core.db.upgrade()
        (job,) = await hold_jobs(core)
        assert (job.case_id, job.status, job.ordering_key) == (
            made.case.id,
            JobStatus.QUEUED,
            "legal-holds",
        )
        async with hold_worker(core):
            await settled(core)
        assert hold_of(seaweed, bucket, made.recording) == "ON"
        assert hold_of(seaweed, bucket, plain.recording) == "never"
        assert (await verify(core.db, core.store)).ok
