"""Transcript versions: reading any version of a case's transcript, correcting it (a new
version that points to the one it replaces; the old one stays), and the difference
between two versions.

A case may have several recordings (a transfer splits a call); its transcript joins
them on one timeline. Version N of the case is, for each recording, its newest
transcript of version N or lower. A correction changes what was said and who said it
in some segments, never when: the machine's timings stay, so versions align segment
by segment, and a corrected segment's words are re-cut to its new text, keeping the
times of the audio they came from (``transcriber.words.fit``).

May import: ``hotline.cases``, ``hotline.casework``, ``hotline.evidence``,
``hotline.store``, ``hotline.webhooks.outbox``, ``hotline.errors``, and
``transcriber.words`` and ``transcriber.numbers`` (when a correction is saved).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.cases import CaseView, transcript_json
from hotline.casework import after_change, apply_changes
from hotline.errors import InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.evidence.chain import transcript_digest
from hotline.store.tables import Transcript
from hotline.webhooks.outbox import Outbox

_QUALITY = ("avg_logprob", "no_speech_prob", "compression_ratio")


class VersionConflict(InputError):
    """The correction was made on a version that is no longer the latest."""


class SegmentEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=4000)
    speaker: str | None = Field(None, max_length=32)


class Correction(BaseModel):
    """A new version: every segment of the current one, in order, with its text and
    speaker as they should read."""

    model_config = ConfigDict(extra="forbid")

    base_version: int = Field(ge=1, description="the version the correction was made on")
    segments: list[SegmentEdit] = Field(
        description="as many as the version has (the request body is limited to 1 MiB)"
    )


async def all_rows(session: AsyncSession, case_id: int) -> list[Transcript]:
    return list(
        (
            await session.exec(
                select(Transcript)
                .where(col(Transcript.case_id) == case_id)
                .order_by(col(Transcript.recording_id), col(Transcript.version))
            )
        ).all()
    )


def versions(rows: Sequence[Transcript]) -> list[dict[str, Any]]:
    """One entry per case version, oldest first."""
    by_version: dict[int, list[Transcript]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    out = []
    for number in sorted(by_version):
        newest = max(by_version[number], key=lambda t: t.created_at)
        out.append(
            {
                "version": number,
                "source": newest.source,
                "author": newest.author,
                "created_at": newest.created_at.isoformat(),
                "recording_ids": sorted(t.recording_id for t in by_version[number]),
            }
        )
    return out


def at_version(view: CaseView, rows: Sequence[Transcript], version: int | None) -> dict[str, Any]:
    """The case's transcript as of ``version`` (the latest when ``None``)."""
    chosen: dict[int, Transcript] = {}
    for row in rows:  # ordered by recording, then version
        if version is None or row.version <= version:
            chosen[row.recording_id] = row
    if not chosen or (version is not None and all(r.version != version for r in rows)):
        raise NotFound(f"case {view.case.number} has no transcript version {version}")
    picked = [chosen[r.id] for r in view.recordings if r.id in chosen]
    body = transcript_json(dataclasses.replace(view, transcripts=picked))
    assert body is not None
    if version is not None:
        body["version"] = version
    for index, segment in enumerate(body["segments"]):
        segment["index"] = index
    return body


async def correct(
    session: AsyncSession,
    view: CaseView,
    correction: Correction,
    *,
    actor: str,
    handler: str | None,
    outbox: Outbox,
) -> int:
    """Write the corrected version (one new row per recording that changed); returns
    the new case version number."""
    rows = await all_rows(session, view.case.id or 0)
    if not rows:
        raise VersionConflict(f"case {view.case.number} has no transcript to correct yet")
    current = at_version(view, rows, None)
    if correction.base_version != current["version"]:
        raise VersionConflict(
            f"the transcript is at version {current['version']}, the correction was made "
            f"on version {correction.base_version}: reload and correct again"
        )
    segments = current["segments"]
    if len(correction.segments) != len(segments):
        raise InputError(
            f"a correction keeps the segments: expected {len(segments)}, "
            f"got {len(correction.segments)}"
        )
    changed = [
        i
        for i, (old, new) in enumerate(zip(segments, correction.segments, strict=True))
        if old["text"] != new.text or (old.get("speaker") or None) != (new.speaker or None)
    ]
    if not changed:
        raise InputError("the correction changes nothing")
    new_version = correction.base_version + 1
    latest = {t.recording_id: t for t in rows}
    touched = sorted({segments[i]["recording_id"] for i in changed})
    new_ids = []
    digests: list[str] = []
    for recording_id in touched:
        old_row = latest[recording_id]
        own = [i for i, s in enumerate(segments) if s["recording_id"] == recording_id]
        new_segments = []
        for local, index in enumerate(own):
            seg = dict(old_row.segments[local])
            if index in changed:
                edit = correction.segments[index]
                if edit.text != seg["text"]:
                    seg["words"] = _refit_words(seg.get("words") or [], edit.text)
                    seg["numbers"] = _numbers(edit.text)
                seg["text"], seg["speaker"], seg["edited"] = edit.text, edit.speaker, True
                for key in _QUALITY:
                    seg.pop(key, None)
            new_segments.append(seg)
        row = Transcript(
            recording_id=recording_id,
            case_id=old_row.case_id,
            version=new_version,
            source="correction",
            author=actor,
            language=old_row.language,
            model=old_row.model,
            text=join_texts(s["text"] for s in new_segments),
            segments=new_segments,
            supersedes_id=old_row.id,
            # What the machine dropped stays true of the corrected text's audio.
            report={k: v for k, v in (old_row.report or {}).items() if k != "rerun"},
        )
        session.add(row)
        await session.flush()
        new_ids.append(row.id)
        digests.append(transcript_digest(row.text, row.segments))
    await append_audit(
        session,
        actor=actor,
        action="transcript.corrected",
        subject=f"case:{view.case.id}",
        case_id=view.case.id,
        details={
            "version": new_version,
            "supersedes": correction.base_version,
            "transcripts": new_ids,
            "sha256": digests,
            "segments": changed,
        },
    )
    taken = await apply_changes(
        session, view.case, {}, actor=actor, action="case.updated", outbox=outbox, handler=handler
    )
    if not taken:
        await after_change(session, view.case, outbox)
    return new_version


def _numbers(text: str) -> list[dict[str, Any]]:
    """The digit strings of a corrected text, checked as the machine's were (a number a
    person typed with a digit missing is still marked uncertain); the text stays as
    typed."""
    from transcriber.numbers import find

    return [n.to_dict() for n in find(text)]


def _refit_words(words: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The segment's timed words re-cut to the corrected text: unchanged words keep
    their times and probability; changed text takes the time of the words it replaced
    (without a probability: the model did not write it); added text joins the word
    before it; the words of deleted text go."""
    from transcriber.result import Word
    from transcriber.words import fit

    return [w.to_dict() for w in fit([Word.from_dict(w) for w in words], text, edited=True)]


def join_texts(parts: Any) -> str:
    """No space between Chinese pieces, one space otherwise."""
    out = ""
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        if out and not (_cjk(out[-1]) and _cjk(part[0])):
            out += " "
        out += part
    return out


def _cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\uffef"


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The segments that differ between two versions, each with its character-level
    changes as ``[op, text]`` pairs (``equal``, ``delete``, ``insert``)."""
    out = []
    for index, (a, b) in enumerate(zip(old["segments"], new["segments"], strict=False)):
        if a["text"] == b["text"] and (a.get("speaker") or None) == (b.get("speaker") or None):
            continue
        ops: list[list[str]] = []
        matcher = difflib.SequenceMatcher(None, a["text"], b["text"], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                ops.append(["equal", a["text"][i1:i2]])
                continue
            if i2 > i1:
                ops.append(["delete", a["text"][i1:i2]])
            if j2 > j1:
                ops.append(["insert", b["text"][j1:j2]])
        out.append(
            {
                "index": index,
                "start": b["start"],
                "end": b["end"],
                "speaker_before": a.get("speaker"),
                "speaker_after": b.get("speaker"),
                "ops": ops,
            }
        )
    return out
