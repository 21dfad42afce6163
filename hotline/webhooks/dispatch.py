"""The ``deliver`` job: one attempt to hand one event to one endpoint.

Every attempt carries the event's one ``webhook-id`` (so the receiver can drop
duplicates), a fresh ``webhook-timestamp`` and signature, and freshly signed recording
links. A 2xx answer delivers it; 410 Gone disables the endpoint; anything else (an
error status, a refused or dropped connection, no answer within the timeout) is tried
again on the retry schedule, and after the last attempt the delivery is ``dead``:
visible in ``hotline webhooks deliveries`` and replayable.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

import aiohttp
from sqlmodel import col, select, update
from standardwebhooks.webhooks import Webhook

from hotline import __version__
from hotline.config import Settings
from hotline.jobs import JobQueue, Lease, PermanentJobError, RetryAfter
from hotline.store.db import Database
from hotline.store.delivery import Delivery, DeliveryStatus, WebhookEndpoint, WebhookEvent
from hotline.store.tables import Job
from hotline.store.types import utcnow
from hotline.webhooks.links import LinkSigner, load_signer
from hotline.webhooks.outbox import DELIVER

log = logging.getLogger(__name__)

_MAX_ERROR = 500


def event_body(event: WebhookEvent, signer: LinkSigner, base_url: str, ttl: int) -> str:
    """The JSON body of one attempt, with recording links signed now."""
    data: dict[str, Any] = json.loads(json.dumps(event.data))  # a copy we may annotate
    for rec in [data.get("recording"), *data.get("recordings", [])]:
        if isinstance(rec, dict) and rec.get("sha256"):
            url, expires = signer.url(base_url, rec["sha256"], ttl)
            rec["url"] = url
            rec["url_expires_at"] = datetime.fromtimestamp(expires, tz=utcnow().tzinfo).isoformat()
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str) -> dict[str, str]:
    now = utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(msg_id, now, body),
        "content-type": "application/json",
        "user-agent": f"hotline/{__version__}",
    }


class DeliveryService:
    """Owns the HTTP client; ``__call__`` is the ``deliver`` job handler."""

    def __init__(self, settings: Settings, db: Database, queue: JobQueue) -> None:
        self.settings = settings
        self.db = db
        self.queue = queue
        self._http: aiohttp.ClientSession | None = None
        self._signer: LinkSigner | None = None
        self.delivered = 0
        self.failed_attempts = 0

    async def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds),
                connector=aiohttp.TCPConnector(limit=self.settings.webhook_concurrency * 2),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def signer(self) -> LinkSigner:
        if self._signer is None:
            self._signer = await load_signer(self.db)
        return self._signer

    async def post(self, endpoint: WebhookEndpoint, msg_id: str, body: str) -> int:
        """One signed POST; returns the status. Raises ``aiohttp.ClientError``/``TimeoutError``."""
        client = await self._client()
        async with client.post(
            endpoint.url, data=body.encode(), headers=signed_headers(endpoint, msg_id, body)
        ) as resp:
            await resp.read()  # the whole answer, so a connection dropped mid-response counts
            return resp.status

    async def __call__(self, job: Job, lease: Lease) -> None:
        delivery_id = int(job.payload["delivery_id"])
        async with self.db.session() as s:
            delivery = await s.get(Delivery, delivery_id)
            if delivery is None:
                raise PermanentJobError(f"delivery {delivery_id} does not exist")
            event = await s.get(WebhookEvent, delivery.event_id)
            endpoint = await s.get(WebhookEndpoint, delivery.endpoint_id)
            assert event is not None and endpoint is not None
            if delivery.status != DeliveryStatus.PENDING or not endpoint.enabled:
                if delivery.status == DeliveryStatus.PENDING:
                    delivery.status = DeliveryStatus.CANCELLED
                    delivery.last_error = f"endpoint disabled: {endpoint.disabled_reason}"
                    s.add(delivery)
                await lease.complete_in(s)
                return
        body = event_body(
            event, await self.signer(), self.settings.base_url, self.settings.link_ttl_seconds
        )
        status: int | None = None
        try:
            status = await self.post(endpoint, event.msg_id, body)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        except asyncio.CancelledError:
            raise
        extra = {"case_id": event.case_id, "job_id": job.id}
        if status is not None and 200 <= status < 300:
            async with self.db.session() as s:
                await lease.complete_in(s)
                await self._record(s, delivery_id, DeliveryStatus.DELIVERED, status, "")
            self.delivered += 1
            log.info(
                "delivered %s %s to %s (%s)",
                event.type,
                event.msg_id,
                endpoint.url,
                status,
                extra=extra,
            )
            return
        self.failed_attempts += 1
        if status == 410:
            await self._gone(endpoint, delivery_id, lease)
            return
        last = job.attempts >= job.max_attempts
        async with self.db.session() as s:
            await self._record(
                s,
                delivery_id,
                DeliveryStatus.DEAD if last else DeliveryStatus.PENDING,
                status,
                error,
            )
        log.warning(
            "delivery %s of %s to %s failed (attempt %s/%s): %s",
            delivery_id,
            event.type,
            endpoint.url,
            job.attempts,
            job.max_attempts,
            error,
            extra=extra,
        )
        if last:
            raise PermanentJobError(f"gave up after {job.attempts} attempts: {error}")
        delays = self.settings.retry_delays
        raise RetryAfter(error, delays[min(job.attempts - 1, len(delays) - 1)])

    async def _record(
        self, s: Any, delivery_id: int, status: str, code: int | None, error: str
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "attempts": col(Delivery.attempts) + 1,
            "last_status_code": code,
            "last_error": error,
            "last_attempt_at": now,
        }
        if status == DeliveryStatus.DELIVERED:
            values["delivered_at"] = now
        await s.exec(update(Delivery).where(col(Delivery.id) == delivery_id).values(**values))

    async def _gone(self, endpoint: WebhookEndpoint, delivery_id: int, lease: Lease) -> None:
        """410 Gone: the receiver says this endpoint is no more. Stop sending to it."""
        async with self.db.session() as s:
            await lease.complete_in(s)
            await self._record(s, delivery_id, DeliveryStatus.DEAD, 410, "HTTP 410 Gone")
            await s.exec(
                update(WebhookEndpoint)
                .where(col(WebhookEndpoint.id) == endpoint.id)
                .values(enabled=False, disabled_reason="the receiver answered 410 Gone")
            )
            pending = (
                await s.exec(
                    select(Delivery.id).where(
                        col(Delivery.endpoint_id) == endpoint.id,
                        col(Delivery.status) == DeliveryStatus.PENDING,
                        col(Delivery.id) != delivery_id,
                    )
                )
            ).all()
            if pending:
                await s.exec(
                    update(Delivery)
                    .where(col(Delivery.id).in_(list(pending)))
                    .values(
                        status=DeliveryStatus.CANCELLED, last_error="endpoint answered 410 Gone"
                    )
                )
        log.error("endpoint %s answered 410 Gone: disabled", endpoint.url)


async def replay(
    db: Database, queue: JobQueue, settings: Settings, delivery_ids: list[int] | None
) -> int:
    """Send dead (or cancelled) deliveries again, each with a fresh retry schedule."""
    async with db.session() as s:
        query = select(Delivery).where(
            col(Delivery.status).in_([DeliveryStatus.DEAD, DeliveryStatus.CANCELLED])
        )
        if delivery_ids is not None:
            query = query.where(col(Delivery.id).in_(delivery_ids))
        rows = (await s.exec(query.order_by(col(Delivery.id)))).all()
        for delivery in rows:
            event = await s.get(WebhookEvent, delivery.event_id)
            assert event is not None
            delivery.status = DeliveryStatus.PENDING
            delivery.last_error = ""
            s.add(delivery)
            queue.enqueue(
                s,
                DELIVER,
                {"delivery_id": delivery.id},
                case_id=event.case_id,
                ordering_key=(
                    f"{DELIVER}:{delivery.endpoint_id}:case:{event.case_id}"
                    if event.case_id
                    else None
                ),
                max_attempts=len(settings.retry_delays) + 1,
            )
        return len(rows)
