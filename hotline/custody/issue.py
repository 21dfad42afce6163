"""Issuing an approved copy: the ZIP made from the sealed originals (never touched),
redacted unless a full copy was approved, signed, kept under ``<data dir>/copies``
written once, and recorded (``copy.issued`` with the ZIP's SHA-256).

The request is checked before the work and again when it is recorded, so two people
issuing at once end with one copy, and a case raised to ``state`` meanwhile gets none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
from sqlmodel import col, select

from hotline.auth.roles import Principal
from hotline.cases import CaseView, load_views, transcript_json
from hotline.config import Settings
from hotline.custody import copies
from hotline.custody.bundle import BundleWriter
from hotline.custody.redact_audio import (
    CODECS,
    Span,
    WavHeader,
    read_header,
    write_copy,
)
from hotline.custody.redact_text import Context, Kind
from hotline.custody.redaction import redact_segments
from hotline.custody.requests import CopyState, Step
from hotline.errors import CopyRefused, EvidenceError
from hotline.evidence.audio import inspect_file
from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore, sha256_file
from hotline.evidence.keys import InstallationKey
from hotline.phone import mask
from hotline.store.custody import CopyRequest, RedactionMark
from hotline.store.db import Database
from hotline.store.tables import Case, Recording, Transcript
from hotline.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Issued:
    row: CopyRequest
    path: Path


@dataclass(frozen=True, slots=True)
class _Source:
    recording: Recording
    offset: float
    """Where it starts on the case's timeline."""
    transcript: Transcript | None


def _sources(view: CaseView) -> list[_Source]:
    """The recordings the case's timeline is read from (a mix rather than its legs),
    as ``transcript_json`` reads them, with their offsets."""
    mixed = {r.sequence for r in view.recordings if r.leg == "mix"}
    spans: dict[int, float] = {}
    for rec in view.recordings:
        if rec.leg != "message":
            spans[rec.sequence] = max(spans.get(rec.sequence, 0.0), rec.duration)
    offsets, elapsed = {}, 0.0
    for sequence in sorted(spans):
        offsets[sequence] = elapsed
        elapsed += spans[sequence]
    by_recording: dict[int | None, Transcript] = {t.recording_id: t for t in view.transcripts}
    chosen = []
    for rec in view.recordings:
        if rec.leg == "mix" or (rec.leg == "message" and not mixed):
            keep = True
        else:
            keep = rec.leg != "message" and rec.sequence not in mixed
        if keep:
            chosen.append(_Source(rec, offsets.get(rec.sequence, 0.0), by_recording.get(rec.id)))
    return chosen


def _context(case: Case, view: CaseView, marks: Sequence[str], number: str) -> Context:
    call = view.call
    return Context(
        names=tuple(n for n in (case.reporter_name, call.caller_name) if n),
        contacts=tuple(c for c in (case.reporter_contact, call.caller_raw, call.caller_e164) if c),
        terms=tuple(marks),
        keep=tuple(k for k in (case.number, number, case.entity_credit_code) if k),
    )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes):02d}:{rest:04.1f}"


_SPEAKERS = {"caller": "来电人 caller", "operator": "话务员 operator"}


def _transcript_files(
    number: str, case: Case, body: dict[str, Any], redacted: bool
) -> tuple[bytes, bytes]:
    lines = [
        f"复制件编号 Copy: {number}",
        f"案件编号 Case: {case.number}",
        f"转写版本 Transcript version: {body['version']} ({body['source']})",
        f"{'已删除个人信息 Personal data redacted' if redacted else '完整复制件 Full copy'}",
        "时间自通话开始起算 Times are from the start of the call",
        "",
    ]
    for seg in body["segments"]:
        who = _SPEAKERS.get(seg.get("speaker") or "", seg.get("speaker") or "")
        lines.append(
            f"[{_clock(seg['start'])}–{_clock(seg['end'])}] {who + ': ' if who else ''}"
            f"{seg['text']}"
        )
    text = ("\n".join(lines) + "\n").encode()
    data = {
        "copy": number,
        "case": case.number,
        "version": body["version"],
        "language": body["language"],
        "redacted": redacted,
        "segments": [
            {"start": s["start"], "end": s["end"], "speaker": s.get("speaker"), "text": s["text"]}
            for s in body["segments"]
        ],
    }
    return text, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def _summary(number: str, case: Case, view: CaseView, tz: Any) -> bytes:
    def local(value: Any) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else "—"

    reporter = (
        "匿名 anonymous"
        if case.reporter_anonymous or not case.reporter_name
        else (copies.mask_name(case.reporter_name))
    )
    rows = [
        ("复制件编号 Copy", number),
        ("案件编号 Case number", case.number),
        ("接收时间 Received", local(case.created_at)),
        ("来电时间 Call started", local(view.call.started_at)),
        ("通话结束 Call ended", local(view.call.ended_at)),
        ("移送时间 Forwarded", local(case.forwarded_at)),
        ("状态 Status", case.status),
        ("举报类型 Category", case.category or "—"),
        ("被举报单位 Reported entity", case.entity_name or "—"),
        ("统一社会信用代码 Credit code", case.entity_credit_code or "—"),
        ("举报人 Reporter", reporter),
        ("来电号码 Caller", mask(view.call.caller_raw) if view.call.caller_raw else "—"),
    ]
    return ("\n".join(f"{k}: {v}" for k, v in rows) + "\n").encode()


def _pcm16(path: Path, rec: Recording) -> tuple[BinaryIO, WavHeader]:
    """A GSM original, decoded to 16-bit PCM (no GSM encoder exists here)."""
    pieces = []
    with av.open(str(path), "r") as container:
        for frame in container.decode(audio=0):
            pieces.append(frame.to_ndarray().reshape(-1))
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
    if samples.dtype != np.int16:
        samples = np.clip(samples * 32767, -32768, 32767).astype(np.int16)
    data = samples.astype("<i2").tobytes()
    fmt = (1).to_bytes(2, "little") + rec.channels.to_bytes(2, "little")
    fmt += rec.sample_rate.to_bytes(4, "little")
    fmt += (rec.sample_rate * 2 * rec.channels).to_bytes(4, "little")
    fmt += (2 * rec.channels).to_bytes(2, "little") + (16).to_bytes(2, "little")
    return io.BytesIO(data), WavHeader(
        fmt, "pcm_s16le", rec.sample_rate, rec.channels, 0, len(data)
    )


class CopyMaker:
    """Makes and records copies; one per process, from the core's parts."""

    def __init__(
        self, settings: Settings, db: Database, store: EvidenceStore, key: InstallationKey
    ) -> None:
        self.settings, self.db, self.store, self.key = settings, db, store, key
        self.directory = settings.copies_dir

    def path_of(self, row: CopyRequest) -> Path:
        return self.path_of_name(row.zip_name)

    def path_of_name(self, name: str) -> Path:
        return self.directory / name

    async def issue(self, ref: str | int, *, by: Principal) -> Issued:
        async with self.db.session() as s:
            row, case = await copies.get(s, ref)
            await copies.check(row, case, Step.ISSUE, by)
            (view,) = await load_views(s, [case])
            terms = list(
                (
                    await s.exec(
                        select(RedactionMark.term).where(
                            col(RedactionMark.case_id) == case.id,
                            col(RedactionMark.withdrawn_at).is_(None),
                        )
                    )
                ).all()
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{row.number}.zip"
        tmp = self.directory / f".{name}.{uuid.uuid4().hex}.part"
        now = utcnow()
        try:
            async with contextlib.AsyncExitStack() as stack:
                paths = {
                    rec.id or 0: await stack.enter_async_context(
                        self.store.local_file(self.store.ref(rec), rec.sha256)
                    )
                    for rec in view.recordings
                }
                details = await asyncio.to_thread(
                    self._write, tmp, row, case, view, terms, by, now, name, paths
                )
            digest, size = sha256_file(tmp)
            async with self.db.session() as s:
                fresh, case = await copies.get(s, row.id or 0)
                target = await copies.check(fresh, case, Step.ISSUE, by)
                final = self.directory / name
                os.chmod(tmp, 0o444)
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    raise CopyRefused(f"{name} exists already", status=409) from None
                fresh.status = target
                fresh.issued_by, fresh.issued_at = by.username or "", now
                fresh.zip_name, fresh.zip_sha256, fresh.zip_size = name, digest, size
                fresh.details = details
                s.add(fresh)
                await append_audit(
                    s,
                    actor=by.actor,
                    action="copy.issued",
                    subject=f"copy:{fresh.id}",
                    case_id=case.id,
                    details={
                        "number": fresh.number,
                        "zip_sha256": digest,
                        "size": size,
                        "redacted": fresh.redacted,
                        "redactions": details["redactions"],
                    },
                )
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        assert fresh.status == CopyState.ISSUED
        return Issued(fresh, final)

    def _write(
        self,
        tmp: Path,
        row: CopyRequest,
        case: Case,
        view: CaseView,
        terms: list[str],
        by: Principal,
        now: Any,
        zip_name: str,
        paths: dict[int, Path],
    ) -> dict[str, Any]:
        context = _context(case, view, terms, row.number)
        window = None
        if row.range_start is not None and row.range_end is not None:
            window = (row.range_start, row.range_end)
        sources = _sources(view)
        redactions: list[dict[str, Any]] = []
        counts: dict[str, int] = {}
        file_facts: list[dict[str, Any]] = []
        redacted_rows: list[Transcript] = []
        for src in sources:
            t = src.transcript
            if t is None:
                continue
            if row.redacted:
                result = redact_segments(t.segments, context, language=t.language)
                segments = result.segments
                for _, kind in result.text_findings:
                    counts[kind.value] = counts.get(kind.value, 0) + 1
                audio_spans = result.spans
            else:
                segments = [{k: v for k, v in seg.items() if k != "words"} for seg in t.segments]
                audio_spans = []
            redacted_rows.append(Transcript(**{**t.model_dump(), "segments": segments}))
            file_facts.append({"recording_id": src.recording.id, "spans": audio_spans})
        spans_by_recording: dict[int, list[tuple[Kind, Span]]] = {
            int(f["recording_id"]): f["spans"] for f in file_facts
        }
        with tmp.open("xb") as out:
            writer = BundleWriter(out, now.astimezone(self.settings.tz))
            try:
                manifest_files = self._content(
                    paths,
                    writer,
                    row,
                    case,
                    view,
                    sources,
                    window,
                    spans_by_recording,
                    redacted_rows,
                    redactions,
                )
            except BaseException:
                writer.abandon()
                raise
            manifest = {
                "copy": row.number,
                "case": {"id": case.id, "number": case.number, "level": case.confidentiality},
                "request": {
                    "id": row.id,
                    "party": {
                        "name": row.party_name,
                        "id_type": row.party_id_type,
                        "id_number": mask(row.party_id_number),
                    },
                    "purpose": row.purpose,
                    "what": list(row.what),
                    "range": list(window) if window else None,
                    "redacted": row.redacted,
                    "full_reason": row.full_reason or None,
                    "requested_by": row.requested_by,
                    "requested_at": row.requested_at.isoformat(),
                },
                "approval": {
                    "by": row.decided_by,
                    "at": row.decided_at.isoformat() if row.decided_at else None,
                    "comment": row.decision_comment,
                },
                "issued": {"by": by.username, "at": now.isoformat()},
                "redactions": redactions
                + [
                    {"file": "transcript", "kind": k, "count": n} for k, n in sorted(counts.items())
                ],
                "files": manifest_files,
            }
            writer.finish(manifest, sign=self.key.sign, public=self.key.public, zip_name=zip_name)
            out.flush()
            os.fsync(out.fileno())
        return {"redactions": counts, "files": [f["name"] for f in manifest_files]}

    def _content(
        self,
        paths: dict[int, Path],
        writer: BundleWriter,
        row: CopyRequest,
        case: Case,
        view: CaseView,
        sources: list[_Source],
        window: tuple[float, float] | None,
        spans_by_recording: dict[int, list[tuple[Kind, Span]]],
        redacted_rows: list[Transcript],
        redactions: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """The recordings, the transcript and the summary, as the request asked."""
        manifest_files: list[dict[str, Any]] = []
        if "recording" in row.what:
            for index, src in enumerate(sources, start=1):
                manifest_files.append(
                    self._recording(
                        paths[src.recording.id or 0],
                        writer,
                        index,
                        src,
                        row,
                        case,
                        window,
                        spans_by_recording,
                        redactions,
                    )
                )
        if "transcript" in row.what and redacted_rows:
            body = transcript_json(replace(view, transcripts=redacted_rows))
            assert body is not None
            if window is not None:
                body["segments"] = [
                    s for s in body["segments"] if s["end"] > window[0] and s["start"] < window[1]
                ]
            txt, js = _transcript_files(row.number, case, body, row.redacted)
            writer.add_bytes("transcript.txt", txt)
            writer.add_bytes("transcript.json", js)
            for name in ("transcript.txt", "transcript.json"):
                manifest_files.append(
                    {"name": name, "kind": "transcript", "version": body["version"]}
                )
        if "summary" in row.what:
            writer.add_bytes("summary.txt", _summary(row.number, case, view, self.settings.tz))
            manifest_files.append({"name": "summary.txt", "kind": "summary"})
        return manifest_files

    def _recording(
        self,
        path: Path,
        writer: BundleWriter,
        index: int,
        src: _Source,
        row: CopyRequest,
        case: Case,
        window: tuple[float, float] | None,
        spans: dict[int, list[tuple[Kind, Span]]],
        redactions: list[dict[str, Any]],
    ) -> dict[str, Any]:
        rec = src.recording
        name = f"recording-{index}.wav"
        own = spans.get(rec.id or 0, [])
        local = None
        if window is not None:
            local = (max(0.0, window[0] - src.offset), max(0.0, window[1] - src.offset))
        info = inspect_file(path)
        if info.codec in CODECS:
            source: BinaryIO = path.open("rb")
            header = read_header(source, info.codec, info.data_offset, info.data_size)
        else:
            source, header = _pcm16(path, rec)
        comment = (
            f"copy {row.number} of case {case.number}; made from the sealed recording "
            f"sha256 {rec.sha256}; {'personal data bleeped' if row.redacted else 'full copy'}"
        )
        check = hashlib.sha256()
        with source:
            if info.codec in CODECS:
                # The sealed bytes are hashed as they are read: a copy says which
                # original it came from only if that original is still the sealed one.
                source.seek(0)
                for block in iter(lambda: source.read(1 << 20), b""):
                    check.update(block)
                if check.hexdigest() != rec.sha256:
                    raise EvidenceError(
                        f"recording {rec.id} no longer matches its seal; run `hotline verify`"
                    )
            facts = None

            def write(out: BinaryIO) -> None:
                nonlocal facts
                facts = write_copy(
                    source,
                    header,
                    out,
                    info=[(b"INAM", row.number), (b"ICMT", comment), (b"ISFT", "hotline")],
                    spans=[s for _, s in own],
                    window=local,
                )

            writer.add_stream(name, write)
        assert facts is not None
        for kind, span in own:
            a, b = span.start - facts.offset, span.end - facts.offset
            if b > 0 and a < facts.frames / header.sample_rate:
                redactions.append(
                    {
                        "file": name,
                        "kind": kind.value,
                        "start": round(max(0, a), 3),
                        "end": round(b, 3),
                    }
                )
        return {
            "name": name,
            "kind": "recording",
            "original_sha256": rec.sha256,
            "original_codec": rec.codec,
            "codec": header.codec,
            "sample_rate": header.sample_rate,
            "channels": header.channels,
            "leg": rec.leg,
            "starts_at": round(src.offset + facts.offset, 3),
            "duration": round(facts.frames / header.sample_rate, 3),
        }
