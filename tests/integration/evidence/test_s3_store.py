"""Sealing into a real S3 server under Object Lock (SeaweedFS on loopback): the version,
COMPLIANCE mode and retain-until date recorded; the server refusing to delete; one
object for the same bytes; multipart; legal holds; buckets that would let evidence be
deleted; an upload that fails leaving nothing behind."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import func
from sqlmodel import select

from hotline.config import Settings
from hotline.errors import EvidenceError
from hotline.evidence.files import EvidenceStore, add_years
from hotline.evidence.s3 import S3Backend, S3Location, S3Options
from hotline.service import Hotline
from hotline.store.nodes import PendingSeal
from hotline.store.tables import AuditEvent, Call, Case, Recording
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed

pytestmark = pytest.mark.timeout(120)


def s3_settings(seaweed: Seaweed, bucket: str, **kw: Any) -> dict[str, Any]:
    return {
        "evidence_url": f"s3://{bucket}/hotline",
        "s3_endpoint_url": seaweed.endpoint,
        "s3_access_key_id": ACCESS_KEY,
        "s3_secret_access_key": SECRET_KEY,
        **kw,
    }


@pytest.fixture
async def core(
    seaweed: Seaweed, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[Hotline, str]]:
    bucket = seaweed.bucket()
    hotline = Hotline(make_settings(**s3_settings(seaweed, bucket), retention_categories="其他=50"))
    await hotline.open(migrate=True)
    yield hotline, bucket
    await hotline.close()


async def _count(core: Hotline, table: type) -> int:
    async with core.db.session() as s:
        return int((await s.exec(select(func.count()).select_from(table))).one())


async def test_a_recording_is_sealed_in_compliance_mode_and_cannot_be_deleted(
    core: tuple[Hotline, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    hotline, bucket = core
    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    result = await hotline.intake.ingest_file(src, caller="13800138000")
    rec = result.recording
    assert rec.stored_path == f"sha256/{rec.sha256[:2]}/{rec.sha256}.wav"
    assert rec.object_version
    # The longest retention of any category (50 years), from sealing.
    assert rec.retain_until is not None
    assert abs(rec.retain_until - add_years(rec.sealed_at, 50)) < timedelta(seconds=30)

    client = seaweed.client()
    key = f"hotline/{rec.stored_path}"
    head = client.head_object(Bucket=bucket, Key=key, VersionId=rec.object_version)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs(head["ObjectLockRetainUntilDate"] - rec.retain_until) < timedelta(seconds=1)
    assert head["ContentLength"] == rec.size
    body = client.get_object(Bucket=bucket, Key=key, VersionId=rec.object_version)["Body"]
    assert hashlib.sha256(body.read()).hexdigest() == rec.sha256

    # The service's own credentials cannot delete it, nor shorten its retention.
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=bucket, Key=key, VersionId=rec.object_version)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError):
        client.put_object_retention(
            Bucket=bucket,
            Key=key,
            VersionId=rec.object_version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": rec.sealed_at + timedelta(days=1)},
        )
    assert (
        client.head_object(Bucket=bucket, Key=key, VersionId=rec.object_version)[
            "ObjectLockRetainUntilDate"
        ]
        == head["ObjectLockRetainUntilDate"]
    )

    async with hotline.db.session() as s:
        sealed = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "recording.sealed"))
        ).one()
    assert sealed.details["version"] == rec.object_version
    assert await _count(hotline, PendingSeal) == 0

    # Read back through the store: a range, and a checked local copy.
    ref = hotline.store.ref(rec)
    part = b"".join([c async for c in hotline.store.stream(ref, 100, 200)])
    assert part == src.read_bytes()[100:200]
    async with hotline.store.local_file(ref, rec.sha256) as copy:
        assert copy.read_bytes() == src.read_bytes()
    assert not copy.exists()


async def test_the_same_bytes_are_stored_once(
    core: tuple[Hotline, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    """A second seal of identical bytes reuses the object: a second version of the key
    would look like tampering."""
    hotline, bucket = core
    src = tmp_path / "a.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    first = await hotline.store.seal(hotline.store.stage(src))
    again = await hotline.store.seal(hotline.store.stage(src))
    assert not first.reused and again.reused
    assert again.ref == first.ref
    versions = seaweed.client().list_object_versions(Bucket=bucket, Prefix="hotline/")
    assert len(versions["Versions"]) == 1


async def test_multipart_upload_checks_every_part(seaweed: Seaweed, tmp_path: Path) -> None:
    bucket = seaweed.bucket()
    backend = S3Backend(
        S3Location.parse(f"s3://{bucket}/big"),
        S3Options(
            endpoint_url=seaweed.endpoint,
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
            multipart_threshold=6 << 20,
            part_size=5 << 20,
        ),
    )
    store = EvidenceStore(tmp_path / "staging", backend)
    await store.open()
    src = tmp_path / "long.wav"
    data = os.urandom(11 << 20)
    src.write_bytes(data)
    sealed = await store.seal(store.stage(src))
    head = seaweed.client().head_object(
        Bucket=bucket, Key=f"big/{sealed.key}", VersionId=sealed.ref.version
    )
    assert head["ETag"].endswith('-3"')  # three parts
    assert head["ObjectLockMode"] == "COMPLIANCE"
    state = store.inspect(sealed.ref)
    assert state.sha256 == hashlib.sha256(data).hexdigest() and state.size == len(data)
    assert (await store.seal(store.stage(src))).reused


async def test_the_server_refuses_bytes_that_do_not_match_their_hash(
    seaweed: Seaweed, tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    backend = S3Backend(
        S3Location.parse(f"s3://{bucket}"),
        S3Options(
            endpoint_url=seaweed.endpoint, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY
        ),
    )
    await EvidenceStore(tmp_path / "staging", backend).open()
    src = tmp_path / "x.wav"
    src.write_bytes(b"RIFF" + os.urandom(5000))
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(EvidenceError, match="refused them"):
        backend.put(f"sha256/{wrong[:2]}/{wrong}.wav", src, wrong, 5004, add_years_now())
    assert "Versions" not in seaweed.client().list_object_versions(Bucket=bucket)


def add_years_now() -> Any:
    from datetime import UTC, datetime

    return add_years(datetime.now(UTC), 1)


async def test_legal_hold_set_and_cleared(
    core: tuple[Hotline, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    hotline, bucket = core
    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    rec = (await hotline.intake.ingest_file(src, caller="13800138000")).recording
    ref = hotline.store.ref(rec)
    client = seaweed.client()
    key = f"hotline/{rec.stored_path}"

    def hold() -> str:
        got = client.get_object_legal_hold(Bucket=bucket, Key=key, VersionId=rec.object_version)
        return str(got["LegalHold"]["Status"])

    assert await hotline.store.legal_hold(ref, True) is True
    assert hold() == "ON"
    assert hotline.store.inspect(ref).legal_hold
    assert await hotline.store.legal_hold(ref, False) is True
    assert hold() == "OFF"


async def test_an_upload_that_fails_leaves_nothing(
    core: tuple[Hotline, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    hotline, bucket = core
    seaweed.client().delete_bucket(Bucket=bucket)  # empty, so it may go: uploads now fail
    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    with pytest.raises(EvidenceError, match=f"{bucket}.*NoSuchBucket"):
        await hotline.intake.ingest_file(src, caller="13800138000")
    for table in (Call, Recording, Case, PendingSeal, AuditEvent):
        assert await _count(hotline, table) == 0, table
    assert not list((hotline.store.root / ".incoming").iterdir())


async def test_a_bucket_without_object_lock_is_refused(
    seaweed: Seaweed, make_settings: Callable[..., Settings]
) -> None:
    bucket = seaweed.bucket(locked=False)
    refused = Hotline(make_settings(**s3_settings(seaweed, bucket)))
    with pytest.raises(EvidenceError, match="could delete evidence"):
        await refused.open(migrate=True)
    await refused.close()
    checks = await refused.store.check()
    assert [c.ok for c in checks] == [True, False, False]
    assert "Object Lock not configured" in checks[2].detail

    allowed = Hotline(make_settings(**s3_settings(seaweed, bucket, evidence_allow_unlocked=True)))
    await allowed.open(migrate=True)
    await allowed.close()


async def test_verify_names_objects_not_held_as_recorded(
    seaweed: Seaweed, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from hotline.evidence.verify import verify

    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    # A lab bucket without Object Lock: the object is stored, but nothing holds it.
    bucket = seaweed.bucket(locked=False)
    seaweed.client().put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    lab = Hotline(make_settings(**s3_settings(seaweed, bucket, evidence_allow_unlocked=True)))
    await lab.open(migrate=True)
    try:
        rec = (await lab.intake.ingest_file(src, caller="1")).recording
        assert rec.retain_until is None
        report = await verify(lab.db, lab.store)
        assert [p.problem for p in report.recordings] == ["unlocked"]
        assert "lock mode is no lock" in (report.recordings[0].detail or "")
    finally:
        await lab.close()


async def test_verify_compares_the_retention_with_the_database(
    core: tuple[Hotline, str], tmp_path: Path
) -> None:
    from hotline.evidence.verify import verify

    hotline, _ = core
    src = tmp_path / "call.wav"
    src.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    rec = (await hotline.intake.ingest_file(src, caller="1")).recording
    assert (await verify(hotline.db, hotline.store)).ok
    async with hotline.db.session() as s:
        row = await s.get(Recording, rec.id)
        assert row is not None and row.retain_until is not None
        row.retain_until = row.retain_until + timedelta(days=400)
        s.add(row)
    report = await verify(hotline.db, hotline.store, concurrency=2)
    assert [p.problem for p in report.recordings] == ["unlocked"]
    assert "the recording says" in (report.recordings[0].detail or "")


async def test_two_calls_with_identical_bytes_share_one_object(
    core: tuple[Hotline, str], seaweed: Seaweed, tmp_path: Path
) -> None:
    """Each call keeps its own recording; the bucket keeps the bytes once, so verify
    sees no second version of the key."""
    from hotline.evidence.verify import verify

    hotline, bucket = core
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(MIXMONITOR_SAMPLE.read_bytes())
    b.write_bytes(a.read_bytes())
    first = await hotline.intake.ingest_file(a, caller="13800138000")
    second = await hotline.intake.ingest_file(b, caller="13900139000")
    assert not second.duplicate and second.case.id != first.case.id
    assert second.recording.object_version == first.recording.object_version
    versions = seaweed.client().list_object_versions(Bucket=bucket, Prefix="hotline/")
    assert len(versions["Versions"]) == 1
    report = await verify(hotline.db, hotline.store)
    assert report.ok and report.recordings_checked == 2 and not report.unclaimed
