"""An empty or mostly dropped transcript says so, and a handler re-runs transcription.

Real audio through the real worker and model: a line so quiet that the model's words
are dropped as silence (voice activity detection still hears the voice), white noise
(nothing heard, nothing kept), and natural Mandarin speech first transcribed as English
then re-run as Mandarin — a new machine version, the old one kept."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from hotline.config import Settings
from hotline.service import Hotline
from hotline.store.tables import AuditEvent, Job, JobStatus
from tests.support.kokoro import mandarin_call
from tests.support.waiting import transcript_version
from tests.support.web_server import Browser, hotline_core, serve_web
from transcriber.metrics import cer

pytestmark = pytest.mark.slow

SCRIPT = ["您好，我要举报金河水泥厂虚报产值。", "请你们尽快调查，谢谢。"]


def sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def quiet_call(where: Path) -> Path:
    """Natural speech 48 dB down: below the level where anything is heard on a line."""
    out = where / "quiet.wav"
    sox(str(mandarin_call(SCRIPT, voice="zm_yunjian", gap=0.6)), "-e", "signed-integer",
        "-b", "16", str(out), "vol", "-48dB")  # fmt: skip
    return out


def noise_call(where: Path) -> Path:
    out = where / "noise.wav"
    sox("-n", "-r", "8000", "-c", "1", "-b", "16", str(out), "synth", "8", "whitenoise",
        "vol", "0.05")  # fmt: skip
    return out


async def transcribed(core: Hotline, wav: Path, caller: str, **fields: Any) -> int:
    ingested = await core.intake.ingest_file(wav, caller=caller, actor="test")
    case_id = ingested.case.id or 0
    if fields:
        from hotline.store.tables import Case

        async with core.db.session() as s:
            case = await s.get(Case, case_id)
            assert case is not None
            for name, value in fields.items():
                setattr(case, name, value)
            s.add(case)
    return case_id


@pytest.fixture
def settings(tmp_path: Path, make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return make_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
            job_poll_seconds=0.1,
            **overrides,
        )

    return make


async def test_a_dropped_and_an_empty_transcript_say_why(
    tmp_path: Path, settings: Callable[..., Settings]
) -> None:
    async with hotline_core(settings()) as core, serve_web(core) as rig:
        await rig.add_user("handler", "handler")
        quiet = await transcribed(core, quiet_call(tmp_path), "13800138001")
        noise = await transcribed(core, noise_call(tmp_path), "13800138002")
        worker = core.worker()
        await worker.start()
        try:
            await transcript_version(core, quiet, 1)
            await transcript_version(core, noise, 1)
        finally:
            await worker.stop()
        handler = await rig.sign_in("handler")

        status, body, _ = await handler.get(f"/api/cases/{quiet}/transcript")
        assert status == 200, body
        report = body["report"]
        print("quiet:", report)
        assert body["text"] == "" and body["segments"] == []
        assert report["needs_notice"] is True
        assert report["kept_segments"] == 0 and report["dropped_segments"] >= 1
        assert set(report["reasons"]) == {"silence"}, report
        assert report["reasons"]["silence"]["seconds"] == pytest.approx(
            report["dropped_seconds"], abs=0.01
        )
        # The model did hear the words; the guard dropped them: the handler sees which.
        heard = "".join(d["text"] for d in report["dropped"])
        assert cer("".join(SCRIPT), heard) < 0.4, heard
        assert all(d["reason"] == "silence" and d["recording_id"] for d in report["dropped"])
        # Voice activity detection heard voice for most of the call (about 6 s of 6.8).
        assert report["voiced_seconds"] > 0.6 * report["duration"], report

        status, body, _ = await handler.get(f"/api/cases/{noise}/transcript")
        assert status == 200, body
        report = body["report"]
        print("noise:", report)
        assert body["segments"] == [] and report["needs_notice"] is True
        assert report["dropped"] == [] and report["reasons"] == {}
        assert report["voiced_seconds"] is not None and report["voiced_seconds"] < 0.5
        assert report["duration"] == pytest.approx(8.0, abs=0.05)


async def _rerun(who: Browser, case_id: int, **body: Any) -> tuple[int, Any]:
    status, out, _ = await who.request("POST", f"/api/cases/{case_id}/transcript/rerun", json=body)
    return status, out


async def test_a_rerun_in_another_language_is_a_new_version_and_the_old_one_stays(
    settings: Callable[..., Settings],
) -> None:
    call = mandarin_call(SCRIPT, voice="zf_xiaoyi", gap=0.6)
    # Configured for English: the Mandarin call comes out wrong, as on a misconfigured line.
    async with hotline_core(settings(language="en")) as core, serve_web(core) as rig:
        for role in ("handler", "operator", "auditor"):
            await rig.add_user(role, role)
        case_id = await transcribed(
            core, call, "13800138003", entity_name="金河水泥厂", entity_address="城关镇工业路8号"
        )
        handler = await rig.sign_in("handler")
        worker = core.worker()
        await worker.start()
        try:
            first = await transcript_version(core, case_id, 1)
            _, v1, _ = await handler.get(f"/api/cases/{case_id}/transcript")
            assert v1["language"] == "en" and v1["version"] == 1

            # Who may: not an operator who did not take the call, not an auditor.
            for role in ("operator", "auditor"):
                who = await rig.sign_in(role)
                assert (await _rerun(who, case_id, language="zh"))[0] in (403, 404), role
            # Models are the offered ones; an English-only model cannot read Mandarin.
            status, out = await _rerun(handler, case_id, model="/etc/passwd")
            assert status == 400 and "not offered" in out["error"], out
            status, out = await _rerun(handler, case_id, language="zh", model="bundled-tiny.en")
            assert status == 400 and "English only" in out["error"], out

            status, out = await _rerun(handler, case_id, language="zh", model="bundled-base")
            assert status == 202, out
            assert out["version"] == 2 and out["language"] == "zh" and len(out["jobs"]) == 1
            # One at a time: a second request while the first is under way is refused.
            status, busy = await _rerun(handler, case_id, language="zh")
            assert status == 409, busy
            second = await transcript_version(core, case_id, 2)
        finally:
            await worker.stop()

        assert second.source == "machine" and second.supersedes_id == first.id
        _, v2, _ = await handler.get(f"/api/cases/{case_id}/transcript")
        print("v1:", v1["text"], "| v2:", v2["text"])
        assert v2["version"] == 2 and v2["language"] == "zh"
        assert cer("".join(SCRIPT), v2["text"]) <= 0.15, v2["text"]
        assert v2["report"]["rerun"]["language"] == "zh"
        assert v2["report"]["rerun"]["requested_by"] == "user:handler"
        # Version 1 stays as it was.
        _, again, _ = await handler.get(f"/api/cases/{case_id}/transcript?version=1")
        assert again["text"] == v1["text"] and again["language"] == "en"
        _, listed, _ = await handler.get(f"/api/cases/{case_id}/transcript/versions")
        assert [(v["version"], v["source"]) for v in listed["versions"]] == [
            (1, "machine"),
            (2, "machine"),
        ]
        async with core.db.session() as s:
            job = await s.get(Job, out["jobs"][0])
            assert job is not None and job.status == JobStatus.DONE
            # The case's names went to the model as hot words.
            assert job.payload["hotwords"] == ["金河水泥厂", "城关镇工业路8号"]
            actions = [
                (e.action, e.actor, e.details)
                for e in (
                    await s.exec(select(AuditEvent).where(col(AuditEvent.case_id) == case_id))
                ).all()
            ]
        asked = [d for a, who, d in actions if a == "transcription.rerun_requested"]
        assert len(asked) == 1 and asked[0]["version"] == 2 and asked[0]["language"] == "zh"
        assert [d["version"] for a, _w, d in actions if a == "transcript.created"] == [1, 2]
