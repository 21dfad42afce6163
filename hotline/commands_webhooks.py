"""``hotline webhooks …`` and ``hotline case forward``."""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

import aiohttp
from sqlalchemy import func
from sqlmodel import col, select

from hotline.cases import case_json, load_views
from hotline.config import Settings
from hotline.errors import InputError, NotFound
from hotline.service import Hotline
from hotline.store.delivery import Delivery, WebhookEndpoint, WebhookEvent
from hotline.store.types import utcnow
from hotline.webhooks import endpoints as ep
from hotline.webhooks.dispatch import replay

EXIT_OK, EXIT_CHECK, EXIT_USAGE = 0, 1, 2


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


async def forward(settings: Settings, ref: str, *, as_json: bool, actor: str) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        case, forwarded = await core.forward(ref, actor)
        async with core.db.session() as s:
            (view,) = await load_views(s, [case])
    finally:
        await core.close()
    if as_json:
        _print_json({"forwarded": forwarded, "case": case_json(view)})
    elif forwarded:
        print(f"{case.number} forwarded; the case system gets case.created")
    else:
        print(f"{case.number} was already forwarded at {case.forwarded_at:%Y-%m-%d %H:%M:%S %Z}")
    return EXIT_OK


async def run(settings: Settings, args: argparse.Namespace, *, actor: str) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        match args.webhooks_command:
            case "list":
                return await _list(core, as_json=args.json)
            case "add":
                events = [e.strip() for e in args.events.split(",") if e.strip()]
                endpoint = await ep.add(core.db, args.url, args.secret, events, actor)
                print(f"endpoint {endpoint.id}: {endpoint.url}")
                if args.secret is None:
                    print(f"secret (give it to the case system; shown once): {endpoint.secret}")
                return EXIT_OK
            case "disable" | "enable":
                endpoint = await ep.set_enabled(
                    core.db, args.endpoint_id, args.webhooks_command == "enable", actor
                )
                print(f"endpoint {endpoint.id} {'enabled' if endpoint.enabled else 'disabled'}")
                return EXIT_OK
            case "test":
                return await _test(core, args.endpoint_id)
            case "deliveries":
                return await _deliveries(core, args.status, args.limit, as_json=args.json)
            case "replay":
                if not args.delivery_ids and not args.all_dead:
                    raise InputError("name deliveries to replay, or --all-dead")
                ids = None if args.all_dead else list(args.delivery_ids)
                n = await replay(core.db, core.queue, settings, ids)
                print(f"{n} deliveries queued again")
                return EXIT_OK if n or args.all_dead else EXIT_CHECK
    finally:
        await core.close()
    raise AssertionError(args.webhooks_command)


async def _list(core: Hotline, *, as_json: bool) -> int:
    async with core.db.session() as s:
        endpoints = (await s.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id)))).all()
        counts = (
            await s.exec(
                select(Delivery.endpoint_id, Delivery.status, func.count()).group_by(
                    col(Delivery.endpoint_id), col(Delivery.status)
                )
            )
        ).all()
    stats: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in counts:
        stats.setdefault(endpoint_id, {})[status] = int(n)
    rows: list[dict[str, Any]] = [
        {
            "id": e.id,
            "url": e.url,
            "enabled": e.enabled,
            "disabled_reason": e.disabled_reason or None,
            "events": e.event_types or "all",
            "origin": e.origin,
            "deliveries": stats.get(e.id or 0, {}),
        }
        for e in endpoints
    ]
    if as_json:
        _print_json(rows)
    elif not rows:
        print("no endpoints: set HOTLINE_WEBHOOK_URL and HOTLINE_WEBHOOK_SECRET")
    for r in [] if as_json else rows:
        state = "enabled" if r["enabled"] else f"DISABLED ({r['disabled_reason']})"
        counts_text = (
            ", ".join(f"{k} {v}" for k, v in sorted(r["deliveries"].items())) or "none yet"
        )
        print(
            f"{r['id']:>3}  {r['url']}  {state}  events: {r['events']}  deliveries: {counts_text}"
        )
    return EXIT_OK


async def _test(core: Hotline, endpoint_id: int) -> int:
    async with core.db.session() as s:
        endpoint = await s.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    msg_id = f"msg_test_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "type": "webhook.test",
            "timestamp": utcnow().isoformat(),
            "data": {"endpoint": endpoint.url},
        }
    )
    try:
        status = await core.delivery.post(endpoint.url, endpoint.secret, msg_id, body)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        print(f"{endpoint.url}: no answer ({type(exc).__name__}: {exc})")
        return EXIT_CHECK
    print(f"{endpoint.url}: HTTP {status} for {msg_id}")
    return EXIT_OK if 200 <= status < 300 else EXIT_CHECK


async def _deliveries(core: Hotline, status: str | None, limit: int, *, as_json: bool) -> int:
    async with core.db.session() as s:
        query = (
            select(Delivery, WebhookEvent)
            .join(WebhookEvent, col(WebhookEvent.id) == col(Delivery.event_id))
            .order_by(col(Delivery.id).desc())
            .limit(limit)
        )
        if status:
            query = query.where(col(Delivery.status) == status)
        rows = (await s.exec(query)).all()
    data = [
        {
            "id": d.id,
            "endpoint_id": d.endpoint_id,
            "event": e.type,
            "webhook_id": e.msg_id,
            "case_id": e.case_id,
            "status": d.status,
            "attempts": d.attempts,
            "last_status_code": d.last_status_code,
            "last_error": d.last_error or None,
            "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        }
        for d, e in rows
    ]
    if as_json:
        _print_json(data)
        return EXIT_OK
    for r in data:
        print(
            f"{r['id']:>5}  {r['status']:<9} {r['event']:<20} case {r['case_id'] or '-':<5} "
            f"attempts {r['attempts']}  {r['last_error'] or ''}"
        )
    if not data:
        print("no deliveries")
    return EXIT_OK
