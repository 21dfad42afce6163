"""Routes for the case system: forwarding a case, signed callbacks, signed recording links.

The callback and the download are authenticated by their signatures, not by a session:
the case system holds the shared secret (callbacks) and the links it was sent
(downloads). Every download is an audit event.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aiohttp import web
from sqlmodel import col, select

from hotline.auth.roles import Permission
from hotline.cases import load_views
from hotline.errors import InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.tables import Case, Recording
from hotline.web.api_cases import CASE_ID
from hotline.web.keys import PRINCIPAL
from hotline.web.present import check_case_ref, load_case, summary
from hotline.web.routing import Api, ApiError
from hotline.web.schemas import CaseSummary
from hotline.web.sealed_http import send_sealed
from hotline.webhooks.callbacks import CallbackRefused, apply_callback
from hotline.webhooks.links import LinkRefused, load_signer

if TYPE_CHECKING:
    from hotline.service import Hotline

_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_CALLBACK = 64 * 1024


def _core(request: web.Request) -> Hotline:
    from hotline.web.app import CORE

    return request.app[CORE]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def actor_of(request: web.Request) -> str:
    """Who is acting: the signed-in user or token when there is one."""
    principal = request.get(PRINCIPAL)
    return principal.actor if principal else f"http:{request.remote or 'unknown'}"


async def forward_case(request: web.Request) -> web.Response:
    """Send the case to the case system now (``case.created``)."""
    core = _core(request)
    try:
        ref = check_case_ref(request.match_info["id"])
        principal = request[PRINCIPAL]
        assert principal is not None  # the route is for signed-in handlers
        async with core.db.session() as s:
            await load_case(s, principal, ref)  # 404 for a state case not theirs
        case, forwarded = await core.forward(ref, actor_of(request))
    except NotFound as exc:
        return _error(404, str(exc))
    except ApiError as exc:
        return _error(exc.status, exc.message)
    if not forwarded:
        return _error(409, f"case {case.number} was forwarded at {case.forwarded_at}")
    async with core.db.session() as s:
        (view,) = await load_views(s, [case])
    # As the forwarding user may see it: masked, without the transcript's text.
    return web.Response(
        text=summary(view, principal).model_dump_json(), content_type="application/json"
    )


async def case_system_callback(request: web.Request) -> web.Response:
    """The case system attaches its own number, decision and stage to our case."""
    core = _core(request)
    if request.content_length is not None and request.content_length > _MAX_CALLBACK:
        return _error(413, "callback body too large")
    body = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        result = await apply_callback(core.db, body, headers)
    except CallbackRefused as exc:
        return _error(401, str(exc))
    except NotFound as exc:
        return _error(404, str(exc))
    except InputError as exc:
        return _error(400, str(exc))
    return web.json_response(
        {
            "ok": True,
            "case": result.case.number,
            "status": result.case.status,
            "changed": result.changed,
        }
    )


async def download_recording(request: web.Request) -> web.StreamResponse:
    """A recording through a signed, expiring link (HTTP Range supported)."""
    core = _core(request)
    sha256 = request.match_info["sha256"]
    if not _SHA256.fullmatch(sha256):
        return _error(404, "no such recording")
    signer = await load_signer(core.db)
    sent_for = request.query.get("case", "")
    try:
        signer.check(
            sha256, request.query.get("expires", ""), request.query.get("sig", ""), case=sent_for
        )
    except LinkRefused as exc:
        if exc.reason == "expired":
            return _error(410, "this link has expired; ask for the case again")
        return _error(403, "this link is not valid")
    async with core.db.session() as s:
        # The same bytes may be several calls' recordings: take the one of the case the
        # link was sent for (signed, so it cannot be changed), else the first.
        query = select(Recording).where(col(Recording.sha256) == sha256)
        if sent_for.isascii() and sent_for.isdecimal():
            query = query.join(Case, col(Case.call_id) == col(Recording.call_id)).where(
                col(Case.id) == int(sent_for)
            )
        rec = (await s.exec(query.order_by(col(Recording.id)))).first()
        if rec is None:
            return _error(404, "no such recording")
        case = (await s.exec(select(Case).where(col(Case.call_id) == rec.call_id))).first()
        await append_audit(
            s,
            actor=f"link:{request.remote or 'unknown'}",
            action="recording.downloaded",
            subject=f"recording:{rec.id}",
            case_id=case.id if case else None,
            details={
                "sha256": sha256,
                "range": request.headers.get("Range", ""),
                "via": "signed link",
            },
        )
    return await send_sealed(
        request,
        core.store,
        core.store.ref(rec),
        size=rec.size,
        sha256=rec.sha256,
        headers={"Content-Type": rec.content_type, "Cache-Control": "no-store"},
    )


routes = Api()
routes.add(
    "POST",
    "/api/cases/{id}/forward",
    forward_case,
    summary="Forward the case to the case system",
    tag="cases",
    allow={Permission.CASES_FORWARD},
    response=CaseSummary,
    errors=(404, 409),
    path_params={"id": CASE_ID},
)
routes.add(
    "POST",
    "/api/integrations/callback",
    case_system_callback,
    summary="Callback from the case system (Standard Webhooks signature)",
    tag="integrations",
    allow="public",
    body_schema={"type": "object"},
    media={"application/json": {"schema": {"type": "object"}}},
    errors=(400, 401, 404, 413),
)
routes.add(
    "GET",
    "/api/recordings/{sha256}/download",
    download_recording,
    summary="A recording through a signed, expiring link",
    tag="integrations",
    allow="public",
    media={"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
    errors=(206, 403, 404, 410, 416),
    path_params={"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
    query_params=(
        {"name": "expires", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "case", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "sig", "in": "query", "required": True, "schema": {"type": "string"}},
    ),
)


def setup(app: web.Application) -> None:
    routes.setup(app)
