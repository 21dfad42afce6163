"""Trusted timestamps (RFC 3161) from a real TSA on 127.0.0.1 (``openssl ts -reply``),
on both databases: each checkpoint's token is fetched, kept and checked by verify; a
TSA that is down delays the token, never the checkpoint; a token for another hash or
from another authority fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from hotline.checkpointing import TIMESTAMP, Made, Timestamper
from hotline.config import Settings
from hotline.evidence.audit import append_audit
from hotline.evidence.timestamps import TimestampError, Trust
from hotline.evidence.verify import VerifyReport, verify
from hotline.service import Hotline
from hotline.store.tables import AuditTimestamp, Job, JobStatus
from hotline.worker import Lane, Worker
from tests.support.tsa import Authority, TsaServer, make_authority
from tests.support.waiting import until


@pytest.fixture
async def tsa(tmp_path: Path) -> AsyncIterator[TsaServer]:
    server = TsaServer(make_authority(tmp_path / "tsa"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def core(rig_settings: Callable[..., Settings], tsa: TsaServer) -> AsyncIterator[Hotline]:
    hotline = Hotline(rig_settings(tsa_url=tsa.url, tsa_cert=tsa.authority.trust_pem))
    await hotline.open(migrate=True)
    try:
        yield hotline
    finally:
        await hotline.close()


def _worker(core: Hotline) -> Worker:
    return Worker(
        core.queue,
        {TIMESTAMP: core.timestamper},
        [Lane((TIMESTAMP,), 1)],
        poll_seconds=0.05,
        grace_seconds=2,
    )


async def _checkpoint(core: Hotline) -> Made:
    async with core.db.session() as s:
        await append_audit(s, actor="user:li", action="test.note", details={"text": "举报"})
    made = await core.checkpoints.make("cli:test")
    assert made is not None and made.new
    return made


async def _tokens(core: Hotline) -> list[AuditTimestamp]:
    async with core.db.session() as s:
        return list((await s.exec(select(AuditTimestamp).order_by(col(AuditTimestamp.id)))).all())


async def _check(core: Hotline, authority: Authority) -> VerifyReport:
    return await verify(
        core.db, core.store, public=core.key.public, trust=Trust.load(authority.trust_pem)
    )


async def test_each_checkpoint_gets_a_token_that_verify_checks(
    core: Hotline, tsa: TsaServer
) -> None:
    first, second = await _checkpoint(core), await _checkpoint(core)
    worker = _worker(core)
    await worker.start()
    try:
        await until(lambda: _count(core, 2))
    finally:
        await worker.stop()
    tokens = await _tokens(core)
    assert [t.checkpoint_seq for t in tokens] == [first.event_seq, second.event_seq]
    assert all(t.tsa == "CN=Hotline Test TSA" for t in tokens)
    assert abs((tokens[0].gen_time - first.checkpoint.at).total_seconds()) < 60
    report = await _check(core, tsa.authority)
    assert report.ok, report.failures
    assert report.timestamps.checked == 2
    assert report.timestamps.figures["checkpoints_without_token"] == 0


async def _count(core: Hotline, n: int) -> bool:
    return len(await _tokens(core)) >= n


async def test_a_tsa_that_is_down_delays_the_token_never_the_checkpoint(
    core: Hotline, tsa: TsaServer
) -> None:
    await tsa.stop()
    made = await _checkpoint(core)  # made and stored with the TSA down
    worker = _worker(core)
    await worker.start()
    try:

        async def failed_once() -> bool:
            async with core.db.session() as s:
                job = (await s.exec(select(Job).where(col(Job.kind) == TIMESTAMP))).one()
            return job.attempts >= 1 and job.status == JobStatus.QUEUED and bool(job.last_error)

        await until(failed_once)
        async with core.db.session() as s:
            job = (await s.exec(select(Job).where(col(Job.kind) == TIMESTAMP))).one()
        assert "unreachable" in job.last_error
        waiting = await _check(core, tsa.authority)
        assert waiting.ok and waiting.timestamps.checked == 0
        assert "1 checkpoints have no token yet" in waiting.timestamps.notes[0]

        await tsa.start()  # back, on the same port: the next attempt gets the token
        await until(lambda: _count(core, 1))
    finally:
        await worker.stop()
    (token,) = await _tokens(core)
    assert token.checkpoint_seq == made.event_seq
    assert (await _check(core, tsa.authority)).ok


async def test_a_token_for_another_hash_or_from_another_authority_fails(
    core: Hotline, tsa: TsaServer, tmp_path: Path
) -> None:
    first, second = await _checkpoint(core), await _checkpoint(core)
    good = await core.timestamper.fetch(first.checkpoint.statement())

    other = TsaServer(make_authority(tmp_path / "other", "Another TSA"))
    await other.start()
    try:
        # Pointed at another authority, our certificate refuses its token at fetch time.
        stranger = Timestamper(core.settings.model_copy(update={"tsa_url": other.url}), core.db)
        try:
            with pytest.raises(TimestampError, match="does not verify against CN=Hotline Test"):
                await stranger.fetch(second.checkpoint.statement())
        finally:
            await stranger.close()
        own = Timestamper(
            core.settings.model_copy(
                update={"tsa_url": other.url, "tsa_cert": other.authority.trust_pem}
            ),
            core.db,
        )
        try:
            alien = (await own.fetch(first.checkpoint.statement())).response
        finally:
            await own.close()
    finally:
        await other.stop()

    async with core.db.session() as s:
        # The first checkpoint's token filed under the second: another hash.
        s.add(
            AuditTimestamp(
                checkpoint_seq=second.event_seq,
                response=good.response,
                gen_time=good.gen_time,
                serial=str(good.serial),
            )
        )
        # A token for the right checkpoint, but from an authority we do not trust.
        s.add(
            AuditTimestamp(
                checkpoint_seq=first.event_seq,
                response=alien,
                gen_time=good.gen_time,
                serial="1",
            )
        )
    report = await _check(core, tsa.authority)
    assert not report.ok
    wrong_hash, wrong_tsa = report.timestamps.failures
    assert f"checkpoint at event {second.event_seq}" in wrong_hash
    assert "for another message, not this checkpoint" in wrong_hash
    assert f"checkpoint at event {first.event_seq}" in wrong_tsa
    assert "does not verify against CN=Hotline Test TSA" in wrong_tsa
