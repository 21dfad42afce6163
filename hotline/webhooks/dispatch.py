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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, col, select
from standardwebhooks.webhooks import Webhook

from hotline import __version__
from hotline.config import Settings
from hotline.jobs import ClaimedJob, JobQueue, LeaseLost, PermanentJobError, RetryAfter
from hotline.store.db import Database
from hotline.store.delivery import Delivery, DeliveryStatus, WebhookEvent
from hotline.store.types import utcnow
from hotline.webhooks.batch import Coalescer
from hotline.webhooks.links import LinkSigner, load_signer
from hotline.webhooks.outbox import DELIVER
from hotline.worker import Lease

log = logging.getLogger(__name__)

_DELIVERIES = SQLModel.metadata.tables["deliveries"]
_EVENTS = SQLModel.metadata.tables["webhook_events"]
_ENDPOINTS = SQLModel.metadata.tables["webhook_endpoints"]
# Built once: every delivery attempt runs these.
_LOAD = (
    sa_select(
        _DELIVERIES.c.id.label("delivery_id"),
        _DELIVERIES.c.status,
        _EVENTS.c.msg_id,
        _EVENTS.c.type,
        _EVENTS.c.case_id,
        _EVENTS.c.data,
        _EVENTS.c.created_at,
        _ENDPOINTS.c.id.label("endpoint_id"),
        _ENDPOINTS.c.url,
        _ENDPOINTS.c.secret,
        _ENDPOINTS.c.enabled,
        _ENDPOINTS.c.disabled_reason,
    )
    .select_from(
        _DELIVERIES.join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id).join(
            _ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id
        )
    )
    .where(_DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
)
_JOBS = SQLModel.metadata.tables["jobs"]
_COMPLETE_MANY = (
    update(_JOBS)
    .where(
        _JOBS.c.id.in_(bindparam("ids", expanding=True)),
        _JOBS.c.lease_owner == bindparam("owner"),
        _JOBS.c.status == "running",
    )
    .values(
        status="done",
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
        lease_owner=None,
        lease_expires_at=None,
        last_error="",
    )
    .returning(_JOBS.c.id)
)
_ATTEMPT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("status"),
        attempts=_DELIVERIES.c.attempts + 1,
        last_status_code=bindparam("code"),
        last_error=bindparam("error"),
        last_attempt_at=bindparam("now"),
        delivered_at=bindparam("delivered_at"),
    )
)
_SETTLE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .values(status=bindparam("status"), last_error=bindparam("error"))
)

_MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class Pending:
    """What one delivery attempt needs, read in one query."""

    delivery_id: int
    status: str
    msg_id: str
    type: str
    case_id: int | None
    data: dict[str, Any]
    created_at: datetime
    endpoint_id: int
    url: str
    secret: str
    enabled: bool
    disabled_reason: str


def event_body(event: Pending | WebhookEvent, signer: LinkSigner, base_url: str, ttl: int) -> str:
    """The JSON body of one attempt, with recording links signed now."""
    data: dict[str, Any] = json.loads(json.dumps(event.data))  # a copy we may annotate
    for rec in [data.get("recording"), *data.get("recordings", [])]:
        if isinstance(rec, dict) and rec.get("sha256"):
            url, expires = signer.url(base_url, rec["sha256"], ttl, case=event.case_id)
            rec["url"] = url
            rec["url_expires_at"] = datetime.fromtimestamp(expires, tz=utcnow().tzinfo).isoformat()
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def signed_headers(secret: str, msg_id: str, body: str) -> dict[str, str]:
    now = utcnow()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
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
        self._signer_lock = asyncio.Lock()
        self.delivered = 0
        self.failed_attempts = 0
        self._load = Coalescer(
            self._load_many, lambda k: PermanentJobError(f"delivery {k} does not exist")
        )
        self._finish = Coalescer(
            self._finish_many, lambda k: LeaseLost(f"job {k[0]} was taken over")
        )

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
        async with self._signer_lock:  # one load, however many deliveries start at once
            if self._signer is None:
                self._signer = await load_signer(self.db)
        return self._signer

    async def post(self, url: str, secret: str, msg_id: str, body: str) -> int:
        """One signed POST; returns the status. Raises ``aiohttp.ClientError``/``TimeoutError``."""
        client = await self._client()
        async with client.post(
            url, data=body.encode(), headers=signed_headers(secret, msg_id, body)
        ) as resp:
            await resp.read()  # the whole answer, so a connection dropped mid-response counts
            return resp.status

    async def _load_many(self, delivery_ids: list[int]) -> dict[int, Pending]:
        async with self.db.connection() as conn:
            rows = (await conn.execute(_LOAD, {"ids": delivery_ids})).all()
        return {row.delivery_id: Pending(**row._mapping) for row in rows}

    async def _finish_many(
        self, done: list[tuple[int, str, int, int]]
    ) -> dict[tuple[int, str, int, int], None]:
        """Mark delivered jobs done and their deliveries delivered, in one transaction;
        only jobs whose lease is still ours count (the others raise ``LeaseLost``)."""
        now = utcnow()
        finished: dict[tuple[int, str, int, int], None] = {}
        async with self.db.connection() as conn:
            for owner in {key[1] for key in done}:
                keys = [k for k in done if k[1] == owner]
                ids = set(
                    (
                        await conn.execute(
                            _COMPLETE_MANY,
                            {"ids": [k[0] for k in keys], "owner": owner, "now": now},
                        )
                    ).scalars()
                )
                ours = [k for k in keys if k[0] in ids]
                if ours:
                    await conn.execute(
                        _ATTEMPT,
                        [
                            {
                                "delivery_id": k[2],
                                "status": DeliveryStatus.DELIVERED.value,
                                "code": k[3],
                                "error": "",
                                "now": now,
                                "delivered_at": now,
                            }
                            for k in ours
                        ],
                    )
                finished.update(dict.fromkeys(ours))
        return finished

    async def __call__(self, job: ClaimedJob, lease: Lease) -> None:
        delivery_id = int(job.payload["delivery_id"])
        event = await self._load(delivery_id)
        if event.status != DeliveryStatus.PENDING or not event.enabled:
            async with self.db.connection() as conn:
                if event.status == DeliveryStatus.PENDING:
                    await conn.execute(
                        _SETTLE,
                        {
                            "delivery_id": delivery_id,
                            "status": DeliveryStatus.CANCELLED.value,
                            "error": f"endpoint disabled: {event.disabled_reason}",
                        },
                    )
                await lease.complete_on(conn)
            return
        body = event_body(
            event, await self.signer(), self.settings.base_url, self.settings.link_ttl_seconds
        )
        status: int | None = None
        try:
            status = await self.post(event.url, event.secret, event.msg_id, body)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except TimeoutError:
            error = f"no answer within {self.settings.webhook_timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        extra = {"case_id": event.case_id, "job_id": job.id}
        if status is not None and 200 <= status < 300:
            await self._finish((job.id or 0, lease.worker_id, delivery_id, status))
            self.delivered += 1
            log.debug("delivered %s %s to %s", event.type, event.msg_id, event.url, extra=extra)
            return
        self.failed_attempts += 1
        if status == 410:
            await self._gone(event, lease)
            return
        last = job.attempts >= job.max_attempts
        async with self.db.connection() as conn:
            await self._record(
                conn,
                delivery_id,
                DeliveryStatus.DEAD if last else DeliveryStatus.PENDING,
                status,
                error,
            )
        log.warning(
            "delivery %s of %s to %s failed (attempt %s/%s): %s",
            delivery_id,
            event.type,
            event.url,
            job.attempts,
            job.max_attempts,
            error,
            extra=extra,
        )
        if last:
            raise PermanentJobError(f"gave up after {job.attempts} attempts: {error}")
        delays = self.settings.retry_delays
        raise RetryAfter(error, delays[min(job.attempts - 1, len(delays) - 1)])

    @staticmethod
    async def _record(
        conn: AsyncConnection, delivery_id: int, status: str, code: int | None, error: str
    ) -> None:
        now = utcnow()
        await conn.execute(
            _ATTEMPT,
            {
                "delivery_id": delivery_id,
                "status": str(status),
                "code": code,
                "error": error,
                "now": now,
                "delivered_at": now if status == DeliveryStatus.DELIVERED else None,
            },
        )

    async def _gone(self, event: Pending, lease: Lease) -> None:
        """410 Gone: the receiver says this endpoint is no more. Stop sending to it."""
        async with self.db.connection() as conn:
            await lease.complete_on(conn)
            await self._record(conn, event.delivery_id, DeliveryStatus.DEAD, 410, "HTTP 410 Gone")
            await conn.execute(
                update(_ENDPOINTS)
                .where(_ENDPOINTS.c.id == event.endpoint_id)
                .values(enabled=False, disabled_reason="the receiver answered 410 Gone")
            )
            await conn.execute(
                update(_DELIVERIES)
                .where(
                    _DELIVERIES.c.endpoint_id == event.endpoint_id,
                    _DELIVERIES.c.status == DeliveryStatus.PENDING.value,
                    _DELIVERIES.c.id != event.delivery_id,
                )
                .values(
                    status=DeliveryStatus.CANCELLED.value, last_error="endpoint answered 410 Gone"
                )
            )
        log.error("endpoint %s answered 410 Gone: disabled", event.url)


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
