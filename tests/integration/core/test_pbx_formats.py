"""Every format a PBX writes goes from file to transcript: GSM (raw ``.gsm`` and
``wav49``), µ-law, A-law and 16-bit PCM WAV."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import select

from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.tables import Recording, Transcript
from tests.support.fixtures import MIXMONITOR_SAMPLE

pytestmark = pytest.mark.slow

FORMATS = {
    "call.gsm": (),
    "wav49.wav": ("-e", "gsm-full-rate"),
    "ulaw.wav": ("-e", "u-law"),
    "alaw.wav": ("-e", "a-law"),
}


def _convert(tmp_path: Path) -> list[Path]:
    out = []
    for name, args in FORMATS.items():
        path = tmp_path / name
        subprocess.run(["sox", str(MIXMONITOR_SAMPLE), *args, str(path)], check=True)
        out.append(path)
    return out


async def test_pbx_formats_are_sealed_and_transcribed(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    files = _convert(tmp_path)
    core = Hotline(make_settings(whisper_model="bundled-tiny.en", language="en"))
    await core.open()
    try:
        for path in files:
            await core.intake.ingest_file(path, caller="13800138000")
        worker = core.worker()
        await worker.start()
        try:
            async with asyncio.timeout(180):
                while True:
                    async with core.db.session() as s:
                        done = (await s.exec(select(Transcript))).all()
                    if len(done) == len(files):
                        break
                    await asyncio.sleep(0.3)
        finally:
            await worker.stop()
        async with core.db.session() as s:
            recordings = {r.id: r for r in (await s.exec(select(Recording))).all()}
    finally:
        await core.close()
    codecs = sorted(r.codec for r in recordings.values())
    assert codecs == ["gsm", "gsm_ms", "pcm_alaw", "pcm_mulaw"]
    for transcript in done:
        rec = recordings[transcript.recording_id]
        assert rec.duration == pytest.approx(27.58, abs=0.05)
        text = transcript.text.lower()
        assert "gas" in text and "alex smith" in text, (rec.codec, text)
