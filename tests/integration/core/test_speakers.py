"""A call recorded as a mix plus the caller's and the operator's own legs (Asterisk
MixMonitor ``r()``/``t()``) gets a transcript that says who spoke."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from hotline import calls as facts
from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.tables import Job, Transcript
from tests.support import speech

pytestmark = pytest.mark.slow


def _recordings(tmp_path: Path) -> dict[str, Path]:
    """The mix and each party's own leg, as MixMonitor writes them."""
    stereo = speech.conversation(
        [
            ("operator", "Statistics hotline, how can I help you?"),
            ("caller", "I want to report the cement factory for false numbers."),
        ],
        tmp_path / "call.wav",
        voices={"operator": "en-gb", "caller": "en-us"},
        stereo=("caller", "operator"),
    )
    files: dict[str, Path] = {}
    for leg, remix in (
        ("mix", ["remix", "1,2"]),
        ("caller", ["remix", "1"]),
        ("operator", ["remix", "2"]),
    ):
        files[leg] = tmp_path / f"hotline-1.0-{leg}.wav"
        subprocess.run(["sox", str(stereo), str(files[leg]), *remix], check=True)

    return files


async def test_legs_give_speaker_labels(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    files = _recordings(tmp_path)
    core = Hotline(make_settings(whisper_model="bundled-tiny.en", language="en"))
    await core.open()
    try:
        t0 = datetime.now(UTC)
        await core.on_fact(facts.CallStarted(call_id="1.0", source="asterisk", at=t0, caller="1"))
        for leg in ("mix", "caller", "operator"):
            await core.on_fact(
                facts.RecordingFinished(
                    call_id="1.0",
                    at=t0 + timedelta(seconds=9),
                    path=files[leg],
                    started_at=t0,
                    leg=leg,
                )
            )
        async with core.db.session() as s:
            jobs = (await s.exec(select(Job))).all()
        assert [j.status for j in jobs] == ["queued"]  # the mix only; its legs say who
        worker = core.worker()
        await worker.start()
        try:
            async with asyncio.timeout(120):
                while True:
                    async with core.db.session() as s:
                        transcript = (await s.exec(select(Transcript))).first()
                    if transcript is not None:
                        break
                    await asyncio.sleep(0.2)
        finally:
            await worker.stop()
    finally:
        await core.close()
    said = {seg["speaker"]: seg["text"].lower() for seg in transcript.segments}
    assert set(said) == {"caller", "operator"}
    assert "help you" in said["operator"] and "report" in said["caller"]
    first = min(transcript.segments, key=lambda seg: seg["start"])
    assert first["speaker"] == "operator"  # merged by time
