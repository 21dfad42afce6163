"""The outbox: events written in the transaction of the change that causes them.

``Outbox`` methods take the caller's session and add, in that same transaction, the
event, one delivery per endpoint that wants it, and a ``deliver`` job per delivery. If
the change rolls back, so does the event: a crash can neither lose an event nor send
one for a change that never happened.

Which case events go out depends on ``HOTLINE_FORWARD``: with ``auto`` a draft case is
forwarded the moment it opens (``case.created``), then ``case.transcribed`` follows;
with ``manual`` nothing about a case leaves until a handler forwards it, and the first
event the case system gets is ``case.created`` with everything known by then.
Incidents (``call.unrecorded``, ``recording.incomplete``) always go out, and so do the
audit chain's signed checkpoints (``audit.checkpoint``): the case system keeps them as
an outside witness of the chain.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.cases import case_json, load_views
from hotline.config import Settings
from hotline.jobs import JobQueue
from hotline.store.delivery import Delivery, WebhookEndpoint, WebhookEvent
from hotline.store.tables import Case, CaseStatus, Incident
from hotline.store.types import utcnow

DELIVER = "deliver"

# Internal bookkeeping that an integrator has no use for.
_PRIVATE_CASE_KEYS = ("jobs", "incidents")  # incidents have their own events


class EventType(StrEnum):
    CASE_CREATED = "case.created"
    CASE_TRANSCRIBED = "case.transcribed"
    CASE_UPDATED = "case.updated"
    CALL_UNRECORDED = "call.unrecorded"
    RECORDING_INCOMPLETE = "recording.incomplete"
    AUDIT_CHECKPOINT = "audit.checkpoint"


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class Outbox:
    def __init__(self, settings: Settings, queue: JobQueue) -> None:
        self.settings = settings
        self.queue = queue

    async def case_payload(self, session: AsyncSession, case: Case) -> dict[str, Any]:
        """The case as the case system sees it: everything but our bookkeeping; the
        recordings by hash and duration (links are signed when each attempt goes out)."""
        await session.flush()
        (view,) = await load_views(session, [case])
        body = case_json(view)
        for key in _PRIVATE_CASE_KEYS:
            body.pop(key, None)
        recordings = [
            {
                "sha256": r["sha256"],
                "duration": r["duration"],
                "content_type": r["content_type"],
                "size": r["size"],
                "sequence": r["sequence"],
            }
            for r in body.pop("recordings")
        ]
        body.pop("recording", None)
        return {
            "case": body,
            "recording": recordings[0] if recordings else None,
            "recordings": recordings,
        }

    async def emit(
        self,
        session: AsyncSession,
        event_type: EventType,
        data: dict[str, Any],
        *,
        case_id: int | None = None,
    ) -> WebhookEvent | None:
        """Queue an event for every endpoint that wants it; ``None`` if none does."""
        endpoints = [
            e
            for e in (
                await session.exec(
                    select(WebhookEndpoint).where(col(WebhookEndpoint.enabled).is_(True))
                )
            ).all()
            if e.wants(event_type)
        ]
        if not endpoints:
            return None
        event = WebhookEvent(msg_id=new_msg_id(), type=event_type, case_id=case_id, data=data)
        session.add(event)
        await session.flush()
        for endpoint in endpoints:
            delivery = Delivery(event_id=event.id or 0, endpoint_id=endpoint.id or 0)
            session.add(delivery)
            await session.flush()
            self.queue.enqueue(
                session,
                DELIVER,
                {"delivery_id": delivery.id},
                case_id=case_id,
                # One case's events reach each endpoint in the order they happened.
                ordering_key=f"{DELIVER}:{endpoint.id}:case:{case_id}" if case_id else None,
                max_attempts=len(self.settings.retry_delays) + 1,
            )
        return event

    # --- what the rest of hotline calls ------------------------------------------

    async def case_opened(self, session: AsyncSession, case: Case) -> None:
        """A draft case just opened (same transaction)."""
        if self.settings.forward == "auto":
            await self.forward(session, case)

    async def forward(self, session: AsyncSession, case: Case) -> WebhookEvent | None:
        """Send the case to the case system: its first event is ``case.created``."""
        first_time = case.forwarded_at is None
        if first_time:
            case.forwarded_at = utcnow()
            case.status = CaseStatus.FORWARDED
            session.add(case)
        kind = EventType.CASE_CREATED if first_time else EventType.CASE_UPDATED
        return await self.emit(
            session, kind, await self.case_payload(session, case), case_id=case.id
        )

    async def case_transcribed(self, session: AsyncSession, case: Case) -> None:
        if case.forwarded_at is not None:
            await self.emit(
                session,
                EventType.CASE_TRANSCRIBED,
                await self.case_payload(session, case),
                case_id=case.id,
            )

    async def case_updated(self, session: AsyncSession, case: Case) -> None:
        """Case fields or its transcript changed (a correction is a new version)."""
        if case.forwarded_at is not None:
            await self.emit(
                session,
                EventType.CASE_UPDATED,
                await self.case_payload(session, case),
                case_id=case.id,
            )

    async def checkpoint(self, session: AsyncSession, checkpoint: dict[str, Any]) -> None:
        """A signed checkpoint of the audit chain (``hotline.checkpointing``)."""
        await self.emit(session, EventType.AUDIT_CHECKPOINT, {"checkpoint": checkpoint})

    async def incident(self, session: AsyncSession, incident: Incident) -> None:
        kind = {
            "call.unrecorded": EventType.CALL_UNRECORDED,
            "recording.incomplete": EventType.RECORDING_INCOMPLETE,
        }.get(incident.kind)
        if kind is None:
            return
        data: dict[str, Any] = {
            "incident": {
                "id": incident.id,
                "kind": incident.kind,
                "at": incident.at.isoformat(),
                "detail": incident.detail,
                "call": incident.source_call_id or None,
            },
            "case": None,
            "recording": None,
            "recordings": [],
        }
        if incident.case_id is not None:
            case = await session.get(Case, incident.case_id)
            if case is not None:
                data.update(await self.case_payload(session, case))
        await self.emit(session, kind, data, case_id=incident.case_id)
