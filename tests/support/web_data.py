"""Cases to look at: recordings made on the spot (distinct noise, so each seals as its
own evidence), opened through intake as any call is, with a machine transcript where a
test needs one without running a speech model."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np

from hotline.evidence.audit import append_audit
from hotline.evidence.chain import transcript_digest
from hotline.service import Hotline
from hotline.store.tables import Case, Transcript

ZH_SEGMENTS = [
    {"start": 0.0, "end": 1.2, "text": "你好，我要举报。", "speaker": "caller"},
    {"start": 1.2, "end": 2.5, "text": "请讲。", "speaker": "operator"},
    {
        "start": 2.5,
        "end": 4.0,
        "text": "金河水泥厂统计造假，虚报产值。",
        "speaker": "caller",
        # Timed words (the first two segments are as transcripts made before words were).
        "words": [
            {"start": 2.5, "end": 3.1, "word": "金河水泥厂", "probability": 0.62},
            {"start": 3.1, "end": 3.5, "word": "统计造假，", "probability": 0.91},
            {"start": 3.5, "end": 4.0, "word": "虚报产值。", "probability": 0.88},
        ],
    },
]


def make_wav(path: Path, *, seconds: float = 4.0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(8000 * seconds)) * 2000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return path


async def open_case(
    core: Hotline,
    directory: Path,
    *,
    seed: int,
    caller: str = "13800138000",
    fields: dict[str, Any] | None = None,
    segments: list[dict[str, Any]] | None = None,
) -> Case:
    """A sealed call and its draft case (as ``hotline ingest`` makes them), with the
    given fields, and a machine transcript v1 when ``segments`` are given."""
    wav = make_wav(directory / f"call-{seed}.wav", seed=seed)
    result = await core.intake.ingest_file(wav, caller=caller, actor="test")
    async with core.db.session() as s:
        case = await s.get(Case, result.case.id)
        assert case is not None
        for name, value in (fields or {}).items():
            setattr(case, name, value)
        s.add(case)
        if segments is not None:
            transcript = Transcript(
                recording_id=result.recording.id or 0,
                case_id=case.id or 0,
                version=1,
                source="machine",
                author="test-model",
                language="zh",
                model="test-model",
                text="".join(seg["text"] for seg in segments),
                segments=[dict(seg) for seg in segments],
            )
            s.add(transcript)
            await s.flush()
            # As the worker records it, so that ``hotline verify`` finds it made.
            await append_audit(
                s,
                actor="system:worker",
                action="transcript.created",
                subject=f"transcript:{transcript.id}",
                case_id=case.id,
                details={
                    "recording_id": transcript.recording_id,
                    "version": 1,
                    "sha256": transcript_digest(transcript.text, transcript.segments),
                },
            )
    return case
