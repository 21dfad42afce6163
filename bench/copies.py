"""Issuing a redacted copy of a 10-minute call: seconds per copy and MB/s, against plain
``zip`` of the same files (the sealed recording and the transcript) in the same run.
Target: within 2x of ``zip`` (ratio <= 2).

    .venv/bin/python bench/copies.py [--minutes 10] [--copies 3]

The call is 8 kHz 16-bit mono PCM (a PBX's usual WAV) with a transcript of one segment
every 5 s, each with word timings, one in ten speaking a mobile or an ID number, so the
copy bleeps about sixty spans. Each copy is the whole path: checks, redaction of text
and audio, ZIP, signature, the write-once file, the audit events.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from hotline.auth.roles import Principal, Role
from hotline.config import load_settings
from hotline.custody import copies
from hotline.custody.copies import CopyRequestForm
from hotline.custody.requests import Step
from hotline.service import Hotline
from hotline.store.tables import Case, Transcript


def _segments(seconds: float) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for n, start in enumerate(np.arange(0, seconds - 5, 5.0)):
        said = "我的电话是159 1234 5678。" if n % 10 == 3 else "金河水泥厂虚报产值，有月报表为证。"
        if n % 10 == 7:
            said = "身份证11010519491231002X。"
        out.append(
            {
                "start": float(start),
                "end": float(start + 4.5),
                "text": said,
                "speaker": "caller",
                "words": [
                    {"start": float(start + i * 0.3), "end": float(start + i * 0.3 + 0.3),
                     "word": ch}
                    for i, ch in enumerate(said)
                ],
            }
        )  # fmt: skip
    return out


def _plain_zip(root: Path, wav: Path, runs: int) -> list[float]:
    """The baseline: ``zip`` (deflate, its default level) of the recording and the text."""
    timings = []
    for n in range(runs):
        started = time.perf_counter()
        subprocess.run(
            ["zip", "-q", "-j", str(root / f"plain-{n}.zip"), str(wav), str(root / "t.txt")],
            check=True,
        )
        timings.append(time.perf_counter() - started)
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("zip") is None:
        sys.exit("the zip program is needed as the baseline: apt-get install zip")
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wav = root / "call.wav"
        rng = np.random.default_rng(0)
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes((rng.standard_normal(int(8000 * seconds)) * 2000).astype("<i2").tobytes())
        settings = load_settings(
            environ={"HOTLINE_DATA_DIR": str(root / "data"), "HOTLINE_SIP": "off"}
        )
        core = Hotline(settings)
        await core.open(migrate=True)
        result = await core.intake.ingest_file(wav, caller="13800138000", actor="bench")
        segments = _segments(seconds)
        async with core.db.session() as s:
            s.add(
                Transcript(
                    recording_id=result.recording.id or 0,
                    case_id=result.case.id or 0,
                    version=1,
                    source="machine",
                    language="zh",
                    text="".join(str(seg["text"]) for seg in segments),
                    segments=segments,
                )
            )
        handler = Principal(kind="user", id=1, name="li", role=Role.HANDLER)
        head = Principal(kind="user", id=2, name="boss", role=Role.HEAD)
        form = CopyRequestForm(
            party_name="王某",
            party_id_type="passport",
            party_id_number="E12345678",
            purpose="bench",
        )
        timings, size = [], 0
        for _ in range(args.copies):
            async with core.db.session() as s:
                case = await s.get(Case, result.case.id)
                assert case is not None
                row = await copies.create(s, case, form, by=handler)
                await copies.decide(s, row, case, Step.APPROVE, by=head, comment="")
            started = time.perf_counter()
            issued = await core.copies.issue(row.id or 0, by=handler)
            timings.append(time.perf_counter() - started)
            size = issued.path.stat().st_size
        await core.close()

        (root / "t.txt").write_text("\n".join(str(seg["text"]) for seg in segments))
        baseline = await asyncio.to_thread(_plain_zip, root, wav, args.copies)
        mb = wav.stat().st_size / 1e6
    best, plain = min(timings), min(baseline)
    print(f"call: {args.minutes:g} min, {mb:.1f} MB of audio, {len(segments)} segments")
    print(f"hotline copy (redacted): {best:.3f} s per copy, {mb / best:.1f} MB/s")
    print(f"  the ZIP: {size / 1e6:.1f} MB")
    print(f"plain zip of the same files: {plain:.3f} s, {mb / plain:.1f} MB/s")
    print(f"ratio copy/zip: {best / plain:.2f} (target <= 2)")


if __name__ == "__main__":
    asyncio.run(main())
