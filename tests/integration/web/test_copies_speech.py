"""The audio copy on natural speech: a caller (Kokoro's natural Mandarin, 8 kHz µ-law as
a PBX records it) says a resident ID and a mobile number; the call is ingested and
transcribed by the real model (word timings in the segments); a redacted copy is
requested, approved and issued; the copy's recording, transcribed again by the same
model, no longer holds either number, while the rest of what was said is still heard."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from sqlmodel import col, select

from hotline.config import Settings
from hotline.custody.redact_text import digits_of
from hotline.store.tables import Transcript
from tests.support.kokoro import mandarin_call, spoken_digits
from tests.support.web_server import hotline_core, serve_web

pytestmark = pytest.mark.slow

RESIDENT_ID = "410105198803152015"
MOBILE = "15912345678"
SCRIPT = [
    "您好，我要举报金河水泥厂虚报产值。",
    f"我的身份证号码是{spoken_digits(RESIDENT_ID)}。",
    f"我的手机号码是{spoken_digits(MOBILE)}。",
    "请你们尽快调查，谢谢。",
]


def longest_shared_digits(text: str, number: str) -> int:
    """The longest run of ``number``'s digits, in order and unbroken, that the text's
    digits (Arabic or Chinese, separators dropped) contain."""
    digits = digits_of(text)
    match = SequenceMatcher(None, digits, number, autojunk=False).find_longest_match()
    return match.size


async def _transcript(core_db: object, case_id: int, within: float) -> Transcript:
    from hotline.store.db import Database

    assert isinstance(core_db, Database)
    async with asyncio.timeout(within):
        while True:
            async with core_db.session() as s:
                found = (
                    await s.exec(select(Transcript).where(col(Transcript.case_id) == case_id))
                ).first()
            if found is not None:
                return found
            await asyncio.sleep(0.3)


async def test_a_spoken_id_and_mobile_are_not_heard_in_the_copy(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    call = mandarin_call(SCRIPT, voice="zm_yunjian", gap=0.6)
    settings = make_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", job_poll_seconds=0.1
    )
    async with hotline_core(settings) as core, serve_web(core) as rig:
        for name in ("handler", "head"):
            await rig.add_user(name, name)
        ingested = await core.intake.ingest_file(call, caller="13800138000", actor="test")
        case_id = ingested.case.id or 0
        worker = core.worker()
        await worker.start()
        try:
            machine = await _transcript(core.db, case_id, within=240)
        finally:
            await worker.stop()
        assert all(seg.get("words") for seg in machine.segments), machine.segments
        # The model heard both numbers (else the test would prove nothing).
        heard = machine.text
        assert longest_shared_digits(heard, RESIDENT_ID) >= 8, heard
        assert longest_shared_digits(heard, MOBILE) >= 7, heard

        handler, head = await rig.sign_in("handler"), await rig.sign_in("head")
        status, req, _ = await handler.request(
            "POST",
            f"/api/cases/{case_id}/copies",
            json={
                "party_name": "王小明",
                "party_id_type": "resident_id",
                "party_id_number": "11010519491231002X",
                "purpose": "申请行政复议",
                "what": ["recording"],
            },
        )
        assert status == 201, req
        assert (await head.request("POST", f"/api/copies/{req['id']}/approve", json={}))[0] == 200
        status, req, _ = await handler.request("POST", f"/api/copies/{req['id']}/issue")
        assert status == 200, req
        status, data, _ = await handler.get(f"/api/copies/{req['id']}/download")
        assert status == 200
        copy_wav = tmp_path / "copy.wav"
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            copy_wav.write_bytes(z.read("recording-1.wav"))

        model = await core.transcription.model()
        again = await asyncio.to_thread(model.transcribe, copy_wav, "zh")
    text = again.text
    assert longest_shared_digits(text, RESIDENT_ID) < 4, text
    assert longest_shared_digits(text, MOBILE) < 4, text
    # Only the numbers went: the report around them is still heard.
    kept = [w for w in ("举报", "水泥", "调查", "谢谢") if w in heard]
    assert len(kept) >= 3, heard
    assert all(w in text for w in kept), (heard, text)
