"""The example case-system receiver as an outside witness: it keeps the checkpoints
hotline sends, and that file is what ``verify --witness`` checks the chain against."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from examples.case_system_receiver import keep_checkpoints, make_app
from hotline.config import Settings
from hotline.evidence.audit import append_audit
from hotline.evidence.checkpoints import read_witness
from hotline.evidence.verify import verify
from hotline.service import Hotline
from hotline.webhooks.endpoints import new_secret
from hotline.webhooks.outbox import DELIVER
from hotline.worker import Lane, Worker
from tests.support.chain_attacks import cut_after
from tests.support.waiting import until


async def test_the_receiver_keeps_what_verify_needs(
    rig_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    witness = tmp_path / "witness.jsonl"
    seen: list[str] = []

    async def note(event: dict[str, Any]) -> None:
        seen.append(event["type"])

    secret = new_secret()
    runner = web.AppRunner(make_app(secret, keep_checkpoints(str(witness), note)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    core = Hotline(
        rig_settings(webhook_url=f"http://127.0.0.1:{port}/hotline", webhook_secret=secret)
    )
    await core.open(migrate=True)
    worker = Worker(core.queue, {DELIVER: core.delivery}, [Lane((DELIVER,), 2)], poll_seconds=0.05)
    try:
        signed = []
        for _ in range(2):
            async with core.db.session() as s:
                for i in range(3):
                    await append_audit(s, actor="user:li", action="test.note", details={"i": i})
            made = await core.checkpoints.make("cli:test")
            assert made is not None
            signed.append(made.checkpoint.seq)
        await worker.start()

        async def kept() -> bool:
            return seen.count("audit.checkpoint") == 2  # each kept before it is handled

        await until(kept)
        with witness.open() as fh:
            lines = list(read_witness(fh))
        assert sorted(w.checkpoint.seq for w in lines) == signed
        report = await verify(core.db, core.store, public=core.key.public, witness=lines)
        assert report.ok and report.witness.checked == 2

        await cut_after(core.db, signed[0] + 1)
        report = await verify(core.db, core.store, public=core.key.public, witness=lines)
        assert not report.ok and "were cut" in report.witness.failures[0]
    finally:
        await worker.stop()
        await core.close()
        await runner.cleanup()
