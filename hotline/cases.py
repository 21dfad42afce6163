"""Cases: numbering, lookups, and the JSON shape that the CLI, the API and webhooks share.

A case's JSON carries its number, status, caller, times, its recordings (SHA-256,
duration, content type) and the latest transcript (text and segments) when there is one.

May import: ``hotline.store``, ``hotline.errors``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.errors import NotFound
from hotline.store.tables import Call, Case, Incident, Job, Recording, Transcript

CASE_FIELDS = (
    "reporter_name",
    "reporter_contact",
    "reporter_anonymous",
    "wants_feedback",
    "entity_name",
    "entity_credit_code",
    "entity_address",
    "entity_industry",
    "category",
    "description",
    "evidence_leads",
    "operator_notes",
    "operator",
    "handler",
    "confidentiality",
    "external_number",
    "external_status",
    "external_stage",
)


async def next_case_number(session: AsyncSession, prefix: str, when: datetime, tz: tzinfo) -> str:
    """``HL-2026-000123``: per-prefix, per-year sequence, unique across processes."""
    year = when.astimezone(tz).year
    name = f"case:{prefix}:{year}"
    # One statement that both SQLite (3.35+) and PostgreSQL run atomically.
    conn = await session.connection()
    value = (
        await conn.execute(
            text(
                "INSERT INTO counters (name, value) VALUES (:name, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 "
                "RETURNING value"
            ),
            {"name": name},
        )
    ).scalar_one()
    return f"{prefix}-{year}-{int(value):06d}"


async def get_case(session: AsyncSession, ref: str | int) -> Case:
    """A case by id (``12``) or number (``HL-2026-000012``)."""
    text = str(ref)
    if isinstance(ref, int) or (text.isascii() and text.isdecimal() and len(text) <= 18):
        case = await session.get(Case, int(ref))
    else:
        case = (await session.exec(select(Case).where(col(Case.number) == str(ref)))).first()
    if case is None:
        raise NotFound(f"no case {ref}")
    return case


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case with what its JSON needs, loaded in a few queries."""

    case: Case
    call: Call
    recordings: Sequence[Recording]
    transcripts: Sequence[Transcript]
    """Latest version per recording, in recording order."""
    jobs: Sequence[Job]
    incidents: Sequence[Incident] = ()
    """What went wrong with the call's recording (raised before or after it opened)."""


async def latest_transcripts(
    session: AsyncSession, case_ids: Sequence[int | None]
) -> dict[int, Transcript]:
    """The latest version of each recording's transcript in these cases, by recording."""
    rows = (
        await session.exec(
            select(Transcript)
            .where(col(Transcript.case_id).in_(case_ids))
            .order_by(col(Transcript.recording_id), col(Transcript.version))
        )
    ).all()
    return {t.recording_id: t for t in rows}  # ordered by version: the last one wins


async def load_views(
    session: AsyncSession, cases: Sequence[Case], *, transcripts: bool = True
) -> list[CaseView]:
    """``transcripts=False`` leaves them out (lists that show no transcript text)."""
    if not cases:
        return []
    case_ids = [c.id for c in cases]
    call_ids = [c.call_id for c in cases]
    calls = {
        c.id: c for c in (await session.exec(select(Call).where(col(Call.id).in_(call_ids)))).all()
    }
    recs = (
        await session.exec(
            select(Recording)
            .where(col(Recording.call_id).in_(call_ids))
            .order_by(col(Recording.call_id), col(Recording.sequence), col(Recording.id))
        )
    ).all()
    latest = await latest_transcripts(session, case_ids) if transcripts else {}
    jobs = (
        await session.exec(select(Job).where(col(Job.case_id).in_(case_ids)).order_by(col(Job.id)))
    ).all()
    incidents = (
        await session.exec(
            select(Incident)
            .where(col(Incident.call_id).in_(call_ids) | col(Incident.case_id).in_(case_ids))
            .order_by(col(Incident.id))
        )
    ).all()
    views = []
    for case in cases:
        case_recs = [r for r in recs if r.call_id == case.call_id]
        views.append(
            CaseView(
                case=case,
                call=calls[case.call_id],
                recordings=case_recs,
                transcripts=[latest[r.id] for r in case_recs if r.id in latest],
                jobs=[j for j in jobs if j.case_id == case.id],
                incidents=[
                    i for i in incidents if i.case_id == case.id or i.call_id == case.call_id
                ],
            )
        )
    return views


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def recording_json(rec: Recording) -> dict[str, Any]:
    return {
        "id": rec.id,
        "sha256": rec.sha256,
        "duration": round(rec.duration, 3),
        "content_type": rec.content_type,
        "codec": rec.codec,
        "sample_rate": rec.sample_rate,
        "channels": rec.channels,
        "size": rec.size,
        "sequence": rec.sequence,
        "leg": rec.leg,
        "sealed_at": _iso(rec.sealed_at),
        "notice": notice_json(rec.details or {}),
    }


NOTICE_FRAME_SECONDS = 0.02
"""One frame of the SIP line's notice (20 ms of G.711): how recordings sealed before the
line wrote seconds (``notice_seconds``…) counted it, in frames."""
_PARTIAL = re.compile(r"partial \((\d+)/(\d+) frames\)")


def notice_json(details: dict[str, Any]) -> dict[str, Any] | None:
    """What a recording says of the recording notice (art. 9: the caller is told the call
    is recorded), from the details its source wrote; ``None`` where it says nothing (a
    file imported; a caller's message, recorded after the notice by design).

    ``state``: ``played`` (the SIP line played all of it, every frame went out),
    ``cut_short`` (the call ended before the notice did: ``heard_seconds`` of
    ``seconds``), ``not_all_sent`` (played, but ``unsent_seconds`` of it the socket
    could not send: the recording holds it, the caller did not hear it), ``none`` (the
    line plays no notice), ``recorded`` (Asterisk: the recording began within a second
    of answer, so it holds the dialplan's notice) or ``not_recorded`` (it began
    ``late_seconds`` after answer: the notice is not in the evidence).
    """
    played = details.get("notice_played")
    if played is not None:
        if played == "none":
            return {"state": "none"}
        heard, total, unsent = _notice_seconds(details, str(played))
        if str(played).startswith("partial") and heard is not None and total is not None:
            return {
                "state": "cut_short",
                "heard_seconds": round(heard, 2),
                "seconds": round(total, 2),
                "unsent_seconds": round(unsent, 2),
            }
        if played != "complete":
            return None  # a value this version does not know: say nothing rather than guess
        if unsent > 0:
            return {"state": "not_all_sent", "unsent_seconds": round(unsent, 2)}
        return {"state": "played"}
    recorded = details.get("notice_recorded")
    if recorded is not None and details.get("origin") != "message":  # a message has none
        out: dict[str, Any] = {"state": "recorded" if recorded == "yes" else "not_recorded"}
        late = _number(details.get("late_start_seconds"))
        if late is not None:
            out["late_seconds"] = round(late, 2)
        return out
    return None


def _notice_seconds(
    details: dict[str, Any], played: str
) -> tuple[float | None, float | None, float]:
    """(heard, whole, unsent) seconds of the SIP line's notice: from the seconds the line
    writes, else from the frames in ``partial (n/m frames)`` and ``notice_frames_unsent``
    (recordings sealed before it wrote seconds). Unsent is 0 where nothing says."""
    heard = _number(details.get("notice_played_seconds"))
    total = _number(details.get("notice_seconds"))
    unsent = _number(details.get("notice_unsent_seconds"))
    if unsent is None:
        unsent = (_number(details.get("notice_frames_unsent")) or 0.0) * NOTICE_FRAME_SECONDS
    cut = _PARTIAL.fullmatch(played)
    if cut is not None and (heard is None or total is None):
        heard = int(cut.group(1)) * NOTICE_FRAME_SECONDS
        total = int(cut.group(2)) * NOTICE_FRAME_SECONDS
    return heard, total, max(0.0, unsent)


def _number(value: Any) -> float | None:
    """A detail's number (details are strings), or ``None`` where it is not one."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def transcript_json(view: CaseView) -> dict[str, Any] | None:
    """The case's latest transcript on one timeline.

    Recordings that share a ``sequence`` ran at the same time (a mix and its legs); the
    mix is read when there is one, since it holds the legs (and a caller's message).
    Later sequences (a recording split by a transfer) follow the earlier ones. Segments
    and their words (``words``: empty for transcripts made before words were timed) are
    on that timeline; the stored ones keep their recording's own clock.
    """
    if not view.transcripts:
        return None
    by_id = {r.id: r for r in view.recordings}
    mixed = {r.sequence for r in view.recordings if r.leg == "mix"}
    spans: dict[int, float] = {}
    for rec in view.recordings:
        if rec.leg != "message":
            spans[rec.sequence] = max(spans.get(rec.sequence, 0.0), rec.duration)
    offsets: dict[int, float] = {}
    elapsed = 0.0
    for sequence in sorted(spans):
        offsets[sequence] = elapsed
        elapsed += spans[sequence]

    def shown(t: Transcript) -> bool:
        rec = by_id.get(t.recording_id)
        if rec is None or rec.leg == "mix":
            return True
        return not mixed if rec.leg == "message" else rec.sequence not in mixed

    chosen = [t for t in view.transcripts if shown(t)] or list(view.transcripts)
    segments: list[dict[str, Any]] = []
    texts: list[str] = []
    shifts: dict[int | None, float] = {}
    for t in chosen:
        source = by_id.get(t.recording_id)
        shift = offsets.get(source.sequence, 0.0) if source is not None else 0.0
        shifts[t.id] = shift
        for seg in t.segments:
            segments.append(
                {
                    **seg,
                    "start": round(float(seg["start"]) + shift, 3),
                    "end": round(float(seg["end"]) + shift, 3),
                    "words": [
                        {
                            **w,
                            "start": round(float(w["start"]) + shift, 3),
                            "end": round(float(w["end"]) + shift, 3),
                        }
                        for w in seg.get("words") or ()
                    ],
                    "recording_id": t.recording_id,
                }
            )
        if t.text:
            texts.append(t.text)
    segments.sort(key=lambda seg: (seg["start"], seg["end"]))
    newest = max(chosen, key=lambda t: t.created_at)
    return {
        "version": max(t.version for t in chosen),
        "source": newest.source,
        "author": newest.author,
        "language": newest.language,
        "model": newest.model,
        "created_at": _iso(newest.created_at),
        "text": "\n".join(texts),
        "segments": segments,
        "report": _report(chosen, shifts),
    }


def _report(rows: list[Transcript], shifts: dict[int | None, float]) -> dict[str, Any] | None:
    """The machine's drop reports of ``rows`` as one (``Transcript.report``): what was
    kept and dropped, why, and how much of the audio had voice; ``None`` when no row
    has one (made before drops were reported)."""
    reported = [t for t in rows if t.report]
    if not reported:
        return None
    reasons: dict[str, dict[str, Any]] = {}
    dropped: list[dict[str, Any]] = []
    voiced = [
        t.report["voiced_seconds"] for t in reported if t.report.get("voiced_seconds") is not None
    ]
    for t in reported:
        for reason, entry in (t.report.get("reasons") or {}).items():
            entry_sum = reasons.setdefault(reason, {"segments": 0, "seconds": 0.0})
            entry_sum["segments"] += int(entry["segments"])
            entry_sum["seconds"] = round(entry_sum["seconds"] + float(entry["seconds"]), 3)
        shift = shifts.get(t.id, 0.0)
        for d in t.report.get("dropped") or ():
            dropped.append(
                {
                    **d,
                    "start": round(float(d["start"]) + shift, 3),
                    "end": round(float(d["end"]) + shift, 3),
                    "recording_id": t.recording_id,
                }
            )

    def total(key: str) -> float:
        return round(sum(float(t.report.get(key) or 0) for t in reported), 3)

    kept, lost = total("kept_seconds"), total("dropped_seconds")
    kept_segments = int(total("kept_segments"))
    newest = max(reported, key=lambda t: t.created_at)
    return {
        "needs_notice": kept_segments == 0 or lost > kept,
        "kept_segments": kept_segments,
        "kept_seconds": kept,
        "dropped_segments": int(total("dropped_segments")),
        "dropped_seconds": lost,
        "reasons": reasons,
        "voiced_seconds": round(sum(voiced), 3) if voiced else None,
        "duration": total("duration"),
        "dropped": sorted(dropped, key=lambda d: (d["start"], d["end"])),
        "rerun": newest.report.get("rerun"),
    }


def preservation_json(case: Case) -> dict[str, Any] | None:
    """The case's long-term preservation flag (art. 20), or ``None``."""
    if not case.preservation_reason:
        return None
    return {
        "reason": case.preservation_reason,
        "note": case.preservation_note,
        "marked_at": _iso(case.preserved_at),
        "marked_by": case.preserved_by,
    }


def case_json(view: CaseView) -> dict[str, Any]:
    case, call = view.case, view.call
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status,
        "caller": {"number": call.caller_raw, "e164": call.caller_e164, "name": call.caller_name},
        "created_at": _iso(case.created_at),
        "updated_at": _iso(case.updated_at),
        "call": {
            "source": call.source,
            "callee": call.callee,
            "state": call.state,
            "started_at": _iso(call.started_at),
            "answered_at": _iso(call.answered_at),
            "ended_at": _iso(call.ended_at),
        },
        "recording": recording_json(view.recordings[0]) if view.recordings else None,
        "recordings": [recording_json(r) for r in view.recordings],
        "transcript": transcript_json(view),
        "jobs": [
            {
                "id": j.id,
                "kind": j.kind,
                "status": j.status,
                "attempts": j.attempts,
                "last_error": j.last_error or None,
            }
            for j in view.jobs
        ],
        "incidents": [
            {"id": i.id, "kind": i.kind, "at": _iso(i.at), "detail": i.detail}
            for i in view.incidents
        ],
        **{name: getattr(case, name) for name in CASE_FIELDS},
        "preservation": preservation_json(case),
        # The checkbox the flag replaced, kept for readers of the earlier shape.
        "long_term": bool(case.preservation_reason),
        "long_term_reason": case.preservation_note or case.preservation_reason,
        "forwarded_at": _iso(case.forwarded_at),
    }


async def list_cases(
    session: AsyncSession,
    *,
    limit: int | None = 100,
    offset: int = 0,
    status: str | None = None,
    category: str | None = None,
    operator: str | None = None,
    created_from: datetime | None = None,
    created_until: datetime | None = None,
    before_id: int | None = None,
    preserved: bool | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[Case]:
    """Newest first (``limit=None``: all of them). ``before_id`` pages by id (steady
    while cases arrive); ``preserved`` keeps only flagged (or unflagged) cases; ``where``
    adds conditions such as a full-text match (``hotline.search.matching``)."""
    query = select(Case).order_by(col(Case.id).desc()).limit(limit).offset(offset)
    if status:
        query = query.where(col(Case.status) == status)
    if category:
        query = query.where(col(Case.category) == category)
    if operator:
        query = query.where(col(Case.operator) == operator)
    if created_from is not None:
        query = query.where(col(Case.created_at) >= created_from)
    if created_until is not None:
        query = query.where(col(Case.created_at) < created_until)
    if before_id is not None:
        query = query.where(col(Case.id) < before_id)
    if preserved is not None:
        flagged = col(Case.preservation_reason) != ""
        query = query.where(flagged if preserved else ~flagged)
    for condition in where:
        query = query.where(condition)
    return list((await session.exec(query)).all())
