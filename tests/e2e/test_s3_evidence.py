"""The installed command with its evidence on a real S3 server under Object Lock
(SeaweedFS on loopback): a spoken report becomes a case with a transcript; the object
is held in COMPLIANCE mode until the date kept with the recording and the service's own
credentials cannot delete it; `hotline verify` passes, then names an overwrite and a
version removed behind S3's back; a process killed between upload and commit leaves
one recording after the restart and no orphan unreported."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from botocore.exceptions import ClientError

from tests.conftest import fresh_pg_database, hotline_command
from tests.e2e.conftest import REPORT_WORDS, hotline, query
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.seaweed import Seaweed


def _data(env: dict[str, str]) -> Path:
    return Path(env["HOTLINE_DATA_DIR"])


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ingest_case_transcript_verify_on_s3_and_tampering_named(
    cli_env: dict[str, str], english_report: Path, seaweed: Seaweed
) -> None:
    bucket = seaweed.bucket()
    cli_env.update(seaweed.env(bucket), HOTLINE_LANGUAGE="en", HOTLINE_RETENTION_YEARS="12")
    doctor = hotline(["doctor"], cli_env)
    assert "bucket versioning Enabled" in doctor.stdout, doctor.stdout
    assert "Object Lock Enabled; recordings sealed in COMPLIANCE mode" in doctor.stdout

    run = hotline(
        ["ingest", str(english_report), "--caller", "13800138000", "--wait", "--json"], cli_env
    )
    assert run.returncode == 0, run.stderr
    case = json.loads(run.stdout)[0]["case"]
    text = case["transcript"]["text"].lower()
    assert all(word in text for word in REPORT_WORDS), text
    # Nothing of the recording stays on local disk once sealed.
    local = [p for p in (_data(cli_env) / "evidence").rglob("*") if p.is_file()]
    assert local == []

    ((key, version, until_text, sealed_text),) = query(
        _data(cli_env),
        "SELECT stored_path, object_version, retain_until, sealed_at FROM recordings",
    )
    until = datetime.fromisoformat(until_text).replace(tzinfo=None)
    sealed = datetime.fromisoformat(sealed_text).replace(tzinfo=None)
    assert until.year == sealed.year + 12 and abs(until.replace(year=sealed.year) - sealed) < (
        timedelta(seconds=30)
    )
    client = seaweed.client()
    full = f"hotline/{key}"
    head = client.head_object(Bucket=bucket, Key=full, VersionId=version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"].replace(tzinfo=None) - until) < timedelta(
        seconds=1
    )
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=bucket, Key=full, VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # The storage server's own port refuses it too without the filer's signing key.
    assert seaweed.filer_delete_unsigned(bucket, full, version) == 401

    ok = hotline(["verify"], cli_env)
    assert ok.returncode == 0, ok.stdout
    assert "1 recordings re-hashed" in ok.stdout and "ok: all evidence intact" in ok.stdout

    # Tamper 1: a new version written over the key (the sealed one stays, locked).
    client.put_object(Bucket=bucket, Key=full, Body=b"RIFF and other words")
    bad = hotline(["verify"], cli_env)
    assert bad.returncode == 1, bad.stdout
    assert f"EXTRA    recording 1: {key} has version" in bad.stdout
    assert "written over the sealed one" in bad.stdout
    # A plain delete only adds a delete marker; it is named too.
    client.delete_object(Bucket=bucket, Key=full)
    marked = hotline(["verify", "--json"], cli_env)
    problems = json.loads(marked.stdout)["recordings"]
    assert marked.returncode == 1
    assert any("delete marker" in (p["detail"] or "") for p in problems), problems

    # Tamper 2: the sealed version removed through the server's internals.
    seaweed.filer_delete(bucket, full, version)
    gone = hotline(["verify"], cli_env)
    assert gone.returncode == 1
    assert f"MISSING  recording 1: {key} version {version}" in gone.stdout, gone.stdout
    assert "FAILED: evidence does not match its seals" in gone.stdout


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110  (polling another process; bounded by the caller)
        await asyncio.sleep(0.1)


@pytest.mark.timeout(180)
async def test_killed_between_upload_and_commit_leaves_one_recording(
    cli_env: dict[str, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    client = seaweed.client()
    async with fresh_pg_database() as url:
        cli_env.update(seaweed.env(bucket), HOTLINE_DATABASE_URL=url)
        assert hotline(["db", "upgrade"], cli_env).returncode == 0
        src = tmp_path / "call.wav"
        shutil.copyfile(MIXMONITOR_SAMPLE, src)

        # Hold the recordings table so the commit waits; kill the process once its
        # upload is in the bucket.
        blocker = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE recordings IN EXCLUSIVE MODE")
        proc = await asyncio.create_subprocess_exec(
            hotline_command(),
            "ingest",
            str(src),
            "--caller",
            "13800138000",
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def uploaded() -> bool:
                return "Versions" in client.list_object_versions(Bucket=bucket)

            async with asyncio.timeout(60):
                await _until(uploaded)
                # Its insert of the recording now waits behind our lock.
                while not await blocker.fetchval(  # noqa: ASYNC110
                    "SELECT count(*) FROM pg_locks WHERE relation = 'recordings'::regclass "
                    "AND NOT granted"
                ):
                    await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            async with asyncio.timeout(10):
                await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
            await tx.rollback()
            await blocker.close()

        db = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await db.fetchval("SELECT count(*) FROM recordings") == 0
            assert await db.fetchval("SELECT count(*) FROM pending_seals") == 1

            # The restart reports the stored object, then the same file adopts it.
            again = hotline(["ingest", str(src), "--caller", "13800138000", "--json"], cli_env)
            assert again.returncode == 0, again.stderr
            incidents = await db.fetch("SELECT kind, detail FROM incidents")
            assert [r["kind"] for r in incidents] == ["recording.orphaned"]
            (version,) = [
                v["VersionId"] for v in client.list_object_versions(Bucket=bucket)["Versions"]
            ]
            assert version in incidents[0]["detail"]
            recordings = await db.fetch("SELECT object_version FROM recordings")
            assert [r["object_version"] for r in recordings] == [version]
            assert await db.fetchval("SELECT count(*) FROM pending_seals") == 0
            sealed = await db.fetchval(
                "SELECT details FROM audit_events WHERE action = 'recording.sealed'"
            )
            assert json.loads(sealed)["object"] == "reused"
        finally:
            await db.close()
        verify = hotline(["verify"], cli_env)
        assert verify.returncode == 0, verify.stdout


def test_serve_refuses_a_bucket_that_could_lose_evidence(
    cli_env: dict[str, str], seaweed: Seaweed
) -> None:
    cli_env.update(seaweed.env(seaweed.bucket(locked=False)))
    serve = hotline(["serve"], cli_env, timeout=60)
    assert serve.returncode == 1
    line = serve.stderr.strip().splitlines()[-1]
    assert line.startswith("hotline: error: the evidence bucket")
    assert "hotline could delete evidence from it, so it will not start" in line
    assert "HOTLINE_EVIDENCE_ALLOW_UNLOCKED" in line and "Traceback" not in serve.stderr
    doctor = hotline(["doctor"], cli_env)
    assert doctor.returncode == 1
    assert "FAIL  evidence store   Object Lock not configured: evidence could be deleted" in (
        doctor.stdout
    )
