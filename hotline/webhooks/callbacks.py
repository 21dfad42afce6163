"""Callbacks from the case system: its own case number, status and stage for our case.

A callback is signed like our webhooks (Standard Webhooks, with the endpoint's secret).
It is refused (nothing changes) when the signature is wrong, the timestamp is more
than five minutes off, or its ``webhook-id`` was seen before (a replay). Accepted
changes are audited.

Body::

    {"type": "case.status", "data": {"case": "HL-2026-000001",
     "external_number": "TJ-2026-0042", "status": "accepted", "stage": "立案"}}

``status`` is ``accepted`` or ``rejected`` (the case system's decision) or left out;
``stage`` is the enforcement stage it has reached (立案 filing, 调查取证 investigation,
审核 review, 决定 decision, 送达 service, 执行 execution, 归档 archiving) or left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from hotline.errors import HotlineError, InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.db import Database
from hotline.store.delivery import CallbackReceipt, WebhookEndpoint
from hotline.store.tables import Case, CaseStatus
from hotline.store.types import utcnow

STAGES = ("立案", "调查取证", "审核", "决定", "送达", "执行", "归档")
_DECISIONS = {"accepted": CaseStatus.ACCEPTED, "rejected": CaseStatus.REJECTED}


class CallbackRefused(HotlineError):
    """Signature, timestamp or replay check failed: answer 401, change nothing."""


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackResult:
    case: Case
    changed: dict[str, str]


async def _verify(db: Database, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with db.session() as s:
        endpoints = (await s.exec(select(WebhookEndpoint))).all()
    reason = "no endpoint is configured"
    for endpoint in endpoints:
        try:
            hook = Webhook(endpoint.secret)
        except (EmptyWebhookSecretError, ValueError):  # ours to fix, not the caller's
            log.error("webhook endpoint %s has an unusable secret: replace it", endpoint.id)
            continue
        try:
            return endpoint.id or 0, hook.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            # ValueError: a signature without its comma, base64 or a body that is not
            # UTF-8 or JSON; any other exception is a bug and propagates (500, logged).
            reason = str(exc) or type(exc).__name__
    raise CallbackRefused(f"callback refused: {reason}")


async def apply_callback(db: Database, body: bytes, headers: dict[str, str]) -> CallbackResult:
    endpoint_id, payload = await _verify(db, body, headers)
    msg_id = headers.get("webhook-id", "")
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("case"), str):
        raise InputError('a callback needs {"data": {"case": "<case number>", …}}')
    status = data.get("status")
    if status is not None and status not in _DECISIONS:
        raise InputError(f"status must be accepted or rejected, not {status!r}")
    changes = {
        key: str(data[key])[:64]
        for key in ("external_number", "stage")
        if isinstance(data.get(key), str | int)
    }
    if "stage" in changes and changes["stage"] not in STAGES:
        raise InputError(f"stage must be one of {'、'.join(STAGES)}, not {changes['stage']!r}")
    if len(msg_id) > 128:
        raise InputError("webhook-id is longer than 128 characters")
    try:
        async with db.session() as s:
            s.add(CallbackReceipt(msg_id=msg_id, endpoint_id=endpoint_id))
            await s.flush()
            # By its number, as the case system received it: an id is ours alone, and
            # a case never sent is none of the case system's business.
            case = (await s.exec(select(Case).where(col(Case.number) == data["case"]))).first()
            if case is None or case.forwarded_at is None:
                raise NotFound(f"no case {data['case'][:40]} was sent to the case system")
            applied: dict[str, str] = {}
            if "external_number" in changes:
                case.external_number = applied["external_number"] = changes["external_number"]
            if "stage" in changes:
                case.external_stage = applied["external_stage"] = changes["stage"]
            if status is not None:
                case.external_status = applied["external_status"] = status
                case.status = _DECISIONS[status]
                applied["status"] = case.status
            case.updated_at = utcnow()
            s.add(case)
            await append_audit(
                s,
                actor=f"case-system:{endpoint_id}",
                action="case.external_update",
                subject=f"case:{case.id}",
                case_id=case.id,
                details={"webhook_id": msg_id, **applied},
            )
            return CallbackResult(case, applied)
    except IntegrityError:
        raise CallbackRefused(f"callback refused: {msg_id} was received before (replay)") from None


async def seen(db: Database, msg_id: str) -> bool:
    async with db.session() as s:
        return (
            await s.exec(select(CallbackReceipt).where(col(CallbackReceipt.msg_id) == msg_id))
        ).first() is not None
