"""What was said: the recording (audio with HTTP Range, so players can seek) and the
transcript's versions, corrections and differences. Every look is an audit event."""

from __future__ import annotations

import re
import secrets
import time

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.auth.roles import Permission, Principal
from hotline.cases import CaseView
from hotline.corrections import (
    Correction,
    VersionConflict,
    all_rows,
    at_version,
    correct,
    diff,
    versions,
)
from hotline.evidence.audit import append_audit
from hotline.intake import TRANSCRIBE
from hotline.store.tables import Job, JobStatus, Recording, Transcript
from hotline.transcription import rerun_models, rerun_payload
from hotline.web.api_cases import CASE_ID, CASE_READERS
from hotline.web.keys import RECENT_PLAYS
from hotline.web.present import audit_transcript_view, load_case, may_read_content
from hotline.web.routing import Api, ApiError, Ctx
from hotline.web.schemas import (
    DiffOut,
    DiffQuery,
    RecordingQuery,
    RerunIn,
    RerunOut,
    TranscriptOut,
    TranscriptQuery,
    VersionsOut,
)
from hotline.web.sealed_http import send_sealed

routes = Api()

_RANGE_START = re.compile(r"bytes=([0-9]{1,18})-")
# A player seeks with many range requests; each new playback (a request from byte 0)
# is audited, and seeks are audited once per viewer and recording in this window.
_SEEK_AUDIT_WINDOW = 900.0


def _content(principal: Principal, view: CaseView) -> None:
    if not may_read_content(principal, view.case):
        raise ApiError(403, f"the {principal.role} role may not hear or read this case")


async def _transcript_rows(
    s: AsyncSession, ctx: Ctx, *, required: bool = True
) -> tuple[CaseView, list[Transcript]]:
    """The case of the request's ``{id}`` and its transcript versions, oldest first;
    403 for a role that may not read its content, 404 when ``required`` and none."""
    view = await load_case(s, ctx.user, ctx.path("id"))
    _content(ctx.user, view)
    rows = await all_rows(s, view.case.id or 0)
    if required and not rows:
        raise ApiError(404, f"case {view.case.number} has no transcript yet")
    return view, rows


def _should_audit(ctx: Ctx, rec: Recording, fresh: bool) -> bool:
    plays = ctx.request.app[RECENT_PLAYS]
    key = (ctx.user.session_id or ctx.user.actor, rec.id or 0)
    now = time.monotonic()
    if len(plays) > 10_000:
        for stale in [k for k, at in plays.items() if now - at > _SEEK_AUDIT_WINDOW]:
            del plays[stale]
    last = plays.get(key)
    if fresh or last is None or now - last > _SEEK_AUDIT_WINDOW:
        plays[key] = now
        return True
    return False


@routes.route(
    "GET",
    "/api/cases/{id}/recording",
    summary="The call's recording (audio, HTTP Range)",
    tag="content",
    allow=CASE_READERS,
    query=RecordingQuery,
    media={"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
    errors=(206, 404, 416),
    path_params={"id": CASE_ID},
    description="The sealed bytes as stored. Each download or playback is an audit "
    "event (`recording.downloaded` / `recording.played`).",
)
async def recording(ctx: Ctx) -> web.StreamResponse:
    query = ctx.query(RecordingQuery)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        _content(ctx.user, view)
        recs = [r for r in view.recordings if query.recording in (None, r.id)]
        if not recs:
            raise ApiError(404, "no such recording on this case")
        rec = recs[0]
        range_header = ctx.request.headers.get("Range", "")
        start = _RANGE_START.match(range_header)
        fresh = not range_header or (start is not None and int(start.group(1)) == 0)
        if query.download or _should_audit(ctx, rec, fresh):
            await append_audit(
                s,
                actor=ctx.user.actor,
                action="recording.downloaded" if query.download else "recording.played",
                subject=f"recording:{rec.id}",
                case_id=view.case.id,
                # An internal access by this user; copies for anyone outside the agency
                # go through copy requests (art. 17).
                details={"sha256": rec.sha256, "range": range_header[:64], "access": "internal"},
            )
    headers = {"Content-Type": rec.content_type, "Cache-Control": "no-store"}
    if query.download:
        headers["Content-Disposition"] = (
            f'attachment; filename="{view.case.number}-{rec.sequence + 1}.wav"'
        )
    store = ctx.core.store
    return await send_sealed(
        ctx.request, store, store.ref(rec), size=rec.size, sha256=rec.sha256, headers=headers
    )


@routes.route(
    "GET",
    "/api/cases/{id}/transcript",
    summary="The transcript (latest, or ?version=)",
    tag="content",
    allow=CASE_READERS,
    query=TranscriptQuery,
    response=TranscriptOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="Segments on one timeline across the case's recordings, with speakers. "
    "An audit event (`transcript.viewed`).",
)
async def transcript(ctx: Ctx) -> TranscriptOut:
    query = ctx.query(TranscriptQuery)
    async with ctx.core.db.session() as s:
        view, rows = await _transcript_rows(s, ctx)
        body = at_version(view, rows, query.version)
        await audit_transcript_view(s, view, ctx.user, body["version"])
    return TranscriptOut.model_validate(body)


@routes.route(
    "PUT",
    "/api/cases/{id}/transcript",
    summary="Correct the transcript (a new version; the old one stays)",
    tag="content",
    allow={Permission.CASES_WRITE},
    body=Correction,
    response=TranscriptOut,
    errors=(404, 409),
    path_params={"id": CASE_ID},
    description="Send every segment of `base_version` in order with its corrected text "
    "and speaker; timings stay. 409 if the transcript moved on since `base_version`.",
)
async def correct_transcript(ctx: Ctx) -> TranscriptOut:
    correction = await ctx.body(Correction)
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        try:
            version = await correct(
                s,
                view,
                correction,
                actor=ctx.user.actor,
                handler=ctx.user.username,
                outbox=ctx.core.outbox,
            )
        except VersionConflict as exc:
            raise ApiError(409, str(exc)) from None
        body = at_version(view, await all_rows(s, view.case.id or 0), version)
    return TranscriptOut.model_validate(body)


@routes.route(
    "GET",
    "/api/cases/{id}/transcript/versions",
    summary="The transcript's versions",
    tag="content",
    allow=CASE_READERS,
    response=VersionsOut,
    errors=(404,),
    path_params={"id": CASE_ID},
)
async def transcript_versions(ctx: Ctx) -> VersionsOut:
    async with ctx.core.db.session() as s:
        _, rows = await _transcript_rows(s, ctx, required=False)
    return VersionsOut.model_validate({"versions": versions(rows)})


@routes.route(
    "GET",
    "/api/cases/{id}/transcript/diff",
    summary="What changed between two versions",
    tag="content",
    allow=CASE_READERS,
    query=DiffQuery,
    response=DiffOut,
    errors=(404,),
    path_params={"id": CASE_ID},
    description="The segments that differ, each as character-level operations. An "
    "audit event (`transcript.viewed`).",
)
async def transcript_diff(ctx: Ctx) -> DiffOut:
    query = ctx.query(DiffQuery)
    async with ctx.core.db.session() as s:
        view, rows = await _transcript_rows(s, ctx)
        old = at_version(view, rows, query.from_version)
        new = at_version(view, rows, query.to_version)
        await audit_transcript_view(s, view, ctx.user, query.to_version, via="diff")
    return DiffOut.model_validate(
        {
            "from_version": query.from_version,
            "to_version": query.to_version,
            "segments": diff(old, new),
        }
    )


@routes.route(
    "POST",
    "/api/cases/{id}/transcript/rerun",
    summary="Transcribe the recordings again (a new version; the old ones stay)",
    tag="content",
    allow={Permission.CASES_WRITE},
    body=RerunIn,
    response=RerunOut,
    status=202,
    errors=(404, 409),
    path_params={"id": CASE_ID},
    description="Queues one `transcribe` job per transcribed recording of the case, with "
    "another language or model; the case's entity name and address are given to the "
    "model as hot words. Each writes the returned version (a machine version: "
    "`source` `machine`) when it is done. 409 while a transcription of the case is "
    "still queued or running. An audit event (`transcription.rerun_requested`); each "
    "result is `transcript.created`.",
)
async def rerun_transcript(ctx: Ctx) -> RerunOut:
    asked = await ctx.body(RerunIn)
    settings = ctx.core.settings
    offered = rerun_models(settings)
    if asked.model is not None and asked.model not in offered:
        raise ApiError(400, f"model {asked.model!r} is not offered; choose one of {list(offered)}")
    chosen = asked.model or settings.whisper_model or offered[0]
    if chosen.endswith(".en") and asked.language not in (None, "en"):
        raise ApiError(400, f"{chosen} understands English only, not {asked.language!r}")
    if chosen.endswith(".en") and asked.language is None and settings.language != "en":
        raise ApiError(400, f"{chosen} understands English only: choose the language en")
    async with ctx.core.db.session() as s:
        view = await load_case(s, ctx.user, ctx.path("id"))
        _content(ctx.user, view)
        case_id = view.case.id or 0
        rows = await all_rows(s, case_id)
        if not rows:
            raise ApiError(409, f"case {view.case.number} has no transcript yet to re-run")
        busy = (
            await s.exec(
                select(Job.id).where(
                    col(Job.case_id) == case_id,
                    col(Job.kind) == TRANSCRIBE,
                    col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                )
            )
        ).first()
        if busy is not None:
            raise ApiError(409, f"a transcription of case {view.case.number} is already under way")
        version = max(t.version for t in rows) + 1
        recording_ids = sorted({t.recording_id for t in rows})
        batch = secrets.token_hex(8)
        names = [view.case.entity_name, view.case.entity_address]
        jobs = []
        for recording_id in recording_ids:
            job = ctx.core.queue.enqueue(
                s,
                TRANSCRIBE,
                rerun_payload(
                    recording_id,
                    batch=batch,
                    version=version,
                    language=asked.language,
                    model=asked.model,
                    requested_by=ctx.user.actor,
                    hotwords=[n for n in names if n],
                ),
                case_id=case_id,
            )
            jobs.append(job)
        await s.flush()
        job_ids = [j.id or 0 for j in jobs]
        await append_audit(
            s,
            actor=ctx.user.actor,
            action="transcription.rerun_requested",
            subject=f"case:{case_id}",
            case_id=case_id,
            details={
                "version": version,
                "language": asked.language,
                "model": asked.model,
                "recording_ids": recording_ids,
                "jobs": job_ids,
                "hotwords": len([n for n in names if n]),
            },
        )
    return RerunOut(
        version=version,
        recording_ids=recording_ids,
        jobs=job_ids,
        language=asked.language,
        model=asked.model,
    )
