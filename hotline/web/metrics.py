"""``GET /metrics`` in the Prometheus text format (0.0.4).

Counts come from the database, so every process reports the same totals whichever one
is scraped; the live figures (calls in progress, open event streams) are this
process's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from sqlalchemy import func
from sqlmodel import col, select

from hotline.auth.roles import Permission
from hotline.store.delivery import Delivery
from hotline.store.tables import Call, CallState, Case, Incident, Job, Recording, Transcript
from hotline.web.keys import STREAMS
from hotline.web.routing import Api, Ctx

routes = Api()

Sample = tuple[dict[str, str], float]

_ACTIVE = (CallState.RINGING, CallState.ANSWERED)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        number = repr(float(value)) if value != int(value) else str(int(value))
        lines.append(f"{name}{{{label_text}}} {number}" if label_text else f"{name} {number}")
    return "\n".join(lines) + "\n"


@routes.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    tag="service",
    allow={Permission.METRICS_READ},
    media={"text/plain": {"schema": {"type": "string"}}},
    description="Scrape with a token: `hotline tokens create --role auditor --name prometheus`.",
)
async def metrics(ctx: Ctx) -> web.Response:
    core = ctx.core
    out: list[str] = []
    async with core.db.session() as s:
        calls = dict(
            (await s.exec(select(Call.state, func.count()).group_by(col(Call.state)))).all()
        )
        answered = col(Call.answered_at).is_not(None)
        ended = dict(
            (
                await s.exec(
                    select(answered, func.count())
                    .where(col(Call.state) == CallState.ENDED)
                    .group_by(answered)
                )
            ).all()
        )
        recordings = (
            await s.exec(select(func.count(), func.coalesce(func.sum(Recording.duration), 0.0)))
        ).one()
        incidents = (
            await s.exec(select(Incident.kind, func.count()).group_by(col(Incident.kind)))
        ).all()
        jobs = (
            await s.exec(
                select(Job.kind, Job.status, func.count()).group_by(col(Job.kind), col(Job.status))
            )
        ).all()
        deliveries = (
            await s.exec(select(Delivery.status, func.count()).group_by(col(Delivery.status)))
        ).all()
        cases = (await s.exec(select(Case.status, func.count()).group_by(col(Case.status)))).all()
        transcribed = (
            await s.exec(
                select(func.coalesce(func.sum(Recording.duration), 0.0)).where(
                    col(Recording.id).in_(
                        select(Transcript.recording_id).where(col(Transcript.source) == "machine")
                    )
                )
            )
        ).one()
    live = core.live.book.live()
    out.append(
        family(
            "hotline_calls_active",
            "gauge",
            "Calls not ended yet, by state (every node's).",
            [({"state": state}, calls.get(state, 0)) for state in _ACTIVE],
        )
    )
    out.append(
        family(
            "hotline_calls_total",
            "counter",
            "Calls that ended, by outcome: answered, or not answered (abandoned, unanswered).",
            [
                ({"outcome": "answered"}, ended.get(True, 0)),
                ({"outcome": "unanswered"}, ended.get(False, 0)),
            ],
        )
    )
    out.append(
        family(
            "hotline_calls_live",
            "gauge",
            "Calls in progress seen by this process.",
            [({}, len(live))],
        )
    )
    out.append(
        family(
            "hotline_calls_live_unrecorded",
            "gauge",
            "Answered calls in progress that nothing is recording.",
            [({}, sum(1 for c in live if c.unrecorded))],
        )
    )
    out.append(
        family("hotline_recordings_total", "counter", "Recordings sealed.", [({}, recordings[0])])
    )
    out.append(
        family(
            "hotline_recorded_seconds_total",
            "counter",
            "Seconds of audio sealed.",
            [({}, float(recordings[1]))],
        )
    )
    out.append(
        family(
            "hotline_incidents_total",
            "counter",
            "Incidents, by kind.",
            [({"kind": k}, n) for k, n in incidents],
        )
    )
    out.append(
        family(
            "hotline_jobs",
            "gauge",
            "Jobs by kind and status.",
            [({"kind": k, "status": st}, n) for k, st, n in jobs],
        )
    )
    out.append(
        family(
            "hotline_deliveries",
            "gauge",
            "Webhook deliveries by status.",
            [({"status": st}, n) for st, n in deliveries],
        )
    )
    out.append(
        family(
            "hotline_cases", "gauge", "Cases by status.", [({"status": st}, n) for st, n in cases]
        )
    )
    out.append(
        family(
            "hotline_transcribed_seconds_total",
            "counter",
            "Seconds of recorded audio with a machine transcript.",
            [({}, float(transcribed))],
        )
    )
    out.append(
        family(
            "hotline_transcription_audio_seconds_total",
            "counter",
            "Seconds of audio this process has transcribed since it started.",
            [({}, core.transcription.seconds_transcribed)],
        )
    )
    out.append(
        family(
            "hotline_event_streams",
            "gauge",
            "Open server-sent event streams.",
            [({}, ctx.request.app[STREAMS].open)],
        )
    )
    return web.Response(
        text="".join(out),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
