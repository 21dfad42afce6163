"""Signed checkpoints of the audit chain against someone who can write the database,
on both databases: a rewrite with every later hash recomputed, a cut tail, a rewrite by
someone holding the key too, and the boundary where nothing can tell."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from hotline.checkpointing import SYSTEM_ACTOR, CheckpointTicker
from hotline.evidence.audit import append_audit
from hotline.evidence.checkpoints import ACTION, read_witness, sign
from hotline.evidence.keys import InstallationKey
from hotline.evidence.verify import VerifyReport, verify
from hotline.service import Hotline
from hotline.store.tables import AuditEvent
from tests.support.chain_attacks import cut_after, rewrite
from tests.support.rig import Rig
from tests.support.waiting import until


async def _events(core: Hotline, n: int, what: str = "note") -> None:
    async with core.db.session() as s:
        for i in range(n):
            await append_audit(
                s, actor="user:li", action=f"test.{what}", details={"i": i, "text": "举报"}
            )


async def _check(core: Hotline, witness: Path | None = None) -> VerifyReport:
    lines = None
    if witness is not None:
        with witness.open() as fh:
            lines = list(read_witness(fh))
    return await verify(core.db, core.store, public=core.key.public, witness=lines)


async def _head(core: Hotline) -> int:
    """The chain's last sequence number (opening the core added an event or two)."""
    async with core.db.session() as s:
        return int((await s.exec(select(func.coalesce(func.max(AuditEvent.seq), 0)))).one())


async def _checkpoint(core: Hotline) -> int:
    made = await core.checkpoints.make("cli:test")
    assert made is not None and made.new
    return made.event_seq


async def test_a_checkpoint_signs_the_head_and_reaches_the_case_system(rig: Rig) -> None:
    core = rig.core
    base = await _head(core)
    await _events(core, 3)
    made = await core.checkpoints.make("cli:test")
    assert made is not None and made.new and made.event_seq == base + 4
    cp = made.checkpoint
    assert (cp.seq, cp.key) == (base + 3, core.key.fingerprint)
    assert cp.signed_by(core.key.public)
    async with core.db.session() as s:
        head = await s.get(AuditEvent, base + 3)
        event = await s.get(AuditEvent, base + 4)
    assert head is not None and event is not None
    assert cp.hash == head.hash
    assert (event.action, event.actor, event.subject) == (ACTION, "cli:test", f"audit:{base + 3}")

    # Not moved: the same checkpoint, nothing new; and an interval not yet due does nothing.
    again = await core.checkpoints.make("cli:test")
    assert again is not None and not again.new and again.event_seq == base + 4
    await _events(core, 1)
    assert await core.checkpoints.make(SYSTEM_ACTOR, min_age=3600) is None

    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.accepted) >= 1)
    finally:
        await worker.stop()
    (received,) = [a.event for a in rig.receiver.accepted]
    assert received is not None and received["type"] == "audit.checkpoint"
    sent = received["data"]["checkpoint"]
    assert sent["seq"] == base + 3 and sent["hash"] == head.hash
    assert sent["event_seq"] == base + 4
    assert sent["statement"].encode() == cp.statement()

    report = await _check(core)
    assert report.ok, report.failures
    assert report.checkpoints.checked == 1
    assert report.checkpoints.figures["newest"]["event_seq"] == base + 4


async def test_the_interval_signs_the_chain_when_it_moved(rig: Rig) -> None:
    core = rig.core
    ticker = CheckpointTicker(core.checkpoints, interval=0.1)
    await _events(core, 2)
    head = await _head(core)
    await ticker.start()

    async def signed() -> bool:
        async with core.db.session() as s:
            query = select(func.count()).select_from(AuditEvent)
            return bool((await s.exec(query.where(col(AuditEvent.action) == ACTION))).one())

    try:
        await until(signed)
    finally:
        await ticker.stop()
    async with core.db.session() as s:
        event = (await s.exec(select(AuditEvent).where(col(AuditEvent.action) == ACTION))).one()
    assert event.actor == SYSTEM_ACTOR and event.details["seq"] == head


async def test_a_rewrite_with_every_hash_recomputed_is_caught_at_the_next_checkpoint(
    rig: Rig,
) -> None:
    core = rig.core
    await _events(core, 10)
    first = await _checkpoint(core)
    await _events(core, 9)
    second = await _checkpoint(core)
    await _events(core, 4)
    assert second == first + 10
    assert (await _check(core)).ok

    # A database owner changes an event between the two checkpoints and recomputes
    # every hash after it.
    await rewrite(core.db, first + 4, actor="user:someone-else")
    report = await _check(core)
    assert report.broken_link is None  # the links alone are a valid chain again
    assert not report.ok
    assert report.checkpoints.failures[0].startswith(f"checkpoint at event {second} ")
    assert f"event {second - 1} no longer has the hash it signed" in report.failures[0]
    assert len(report.checkpoints.failures) == 1  # the one before the change still holds

    # Rewriting the checkpoint's signed hash as well breaks its signature instead.
    async with core.db.session() as s:
        signed = await s.get(AuditEvent, second - 1)
        checkpoint_event = await s.get(AuditEvent, second)
    assert signed is not None and checkpoint_event is not None
    await rewrite(core.db, second, details={**checkpoint_event.details, "hash": signed.hash})
    report = await _check(core)
    assert report.broken_link is None
    assert (
        report.checkpoints.failures == [report.checkpoints.failures[0]]
        and "signature does not verify" in report.checkpoints.failures[0]
    )


async def test_without_any_checkpoint_a_rewrite_cannot_be_told_from_the_truth(rig: Rig) -> None:
    """The boundary: a hash chain alone protects against someone who cannot recompute
    it, not against whoever can write the database."""
    core = rig.core
    await _events(core, 8)
    await rewrite(core.db, await _head(core) - 5, details={"i": 999, "text": "改写"})
    report = await _check(core)
    assert report.ok, report.failures
    assert report.checkpoints.checked == 0
    assert "no checkpoint yet" in report.checkpoints.notes[0]


async def test_a_cut_tail_and_a_key_holders_rewrite_are_caught_by_the_witness(
    rig: Rig, tmp_path: Path
) -> None:
    core = rig.core
    await _events(core, 5)
    first = await _checkpoint(core)
    await _events(core, 5)
    second = await _checkpoint(core)
    await _events(core, 3)
    worker = rig.delivery_worker()
    await worker.start()
    try:
        await rig.receiver.wait_for(lambda r: len(r.accepted) >= 2)
    finally:
        await worker.stop()
    witness = tmp_path / "checkpoints.jsonl"
    witness.write_text(
        "".join(json.dumps(a.event, ensure_ascii=False) + "\n" for a in rig.receiver.accepted)
    )
    assert (await _check(core, witness)).ok

    # The tail is cut, the second checkpoint with it: what is left is a valid chain.
    await cut_after(core.db, second - 3)
    alone = await _check(core)
    assert alone.ok, alone.failures
    report = await _check(core, witness)
    assert not report.ok and report.witness.checked == 2
    (problem,) = report.witness.failures
    assert problem.startswith(f"witness line 2 (event {second - 1}")
    assert f"ends at event {second - 3}" in problem

    # Someone holding the key rewrites an early event and signs a new checkpoint over it.
    await rewrite(core.db, first - 3, actor="user:someone-else")
    async with core.db.session() as s:
        five = await s.get(AuditEvent, first - 1)
        cp_event = await s.get(AuditEvent, first)
    assert five is not None and cp_event is not None
    forged = sign(core.key, first - 1, five.hash, cp_event.at)
    await rewrite(core.db, first, details=forged.details())
    assert (await _check(core)).ok  # the chain and its checkpoints agree again
    report = await _check(core, witness)
    assert any(
        f.startswith(f"witness line 1 (event {first - 1}") and "has another hash now" in f
        for f in report.witness.failures
    ), report.witness.failures

    # A witness line signed by another key is not evidence of anything here.
    stranger = InstallationKey.load_or_create(tmp_path / "stranger.pem")
    fake = tmp_path / "fake.jsonl"
    fake.write_text(json.dumps(sign(stranger, first - 1, five.hash, cp_event.at).details()) + "\n")
    report = await _check(core, fake)
    assert "does not verify with this installation's key" in report.witness.failures[0]
