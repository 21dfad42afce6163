"""Case-system endpoints: from settings (``HOTLINE_WEBHOOK_URL``) and added by hand."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlsplit

from sqlmodel import col, select

from hotline.config import Settings
from hotline.errors import InputError, NotFound
from hotline.evidence.audit import append_audit
from hotline.store.db import Database
from hotline.store.delivery import WebhookEndpoint
from hotline.webhooks.outbox import EventType

EVENT_TYPES = tuple(str(t) for t in EventType)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InputError(f"{url!r} is not an http(s) URL")
    return url


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise InputError(f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    return events


async def sync_from_settings(db: Database, settings: Settings) -> None:
    """Make the endpoint named in settings exist, with the secret in settings. A
    disabled one (e.g. after 410 Gone) stays disabled: re-enable it on purpose."""
    if not settings.webhook_url:
        return
    if not settings.webhook_secret:
        from hotline.errors import ConfigError

        raise ConfigError("HOTLINE_WEBHOOK_URL is set: HOTLINE_WEBHOOK_SECRET must be set too")
    url = check_url(settings.webhook_url)
    async with db.session() as s:
        existing = (
            await s.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.url) == url))
        ).first()
        if existing is None:
            s.add(WebhookEndpoint(url=url, secret=settings.webhook_secret, origin="settings"))
            await s.flush()
            await append_audit(
                s, actor="system", action="webhook.endpoint_added", details={"url": url}
            )
        elif existing.secret != settings.webhook_secret:
            existing.secret = settings.webhook_secret
            s.add(existing)
            await append_audit(
                s, actor="system", action="webhook.secret_changed", details={"url": url}
            )


async def add(
    db: Database, url: str, secret: str | None, events: list[str], actor: str
) -> WebhookEndpoint:
    check_url(url)
    check_events(events)
    if secret is not None and not secret.startswith("whsec_"):
        raise InputError("the secret must look like whsec_<base64>")
    async with db.session() as s:
        if (await s.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.url) == url))).first():
            raise InputError(f"an endpoint for {url} exists already")
        endpoint = WebhookEndpoint(url=url, secret=secret or new_secret(), event_types=events)
        s.add(endpoint)
        await s.flush()
        await append_audit(
            s,
            actor=actor,
            action="webhook.endpoint_added",
            subject=f"endpoint:{endpoint.id}",
            details={"url": url, "events": events},
        )
        return endpoint


async def set_enabled(db: Database, endpoint_id: int, enabled: bool, actor: str) -> WebhookEndpoint:
    async with db.session() as s:
        endpoint = await s.get(WebhookEndpoint, endpoint_id)
        if endpoint is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        endpoint.enabled = enabled
        endpoint.disabled_reason = "" if enabled else f"disabled by {actor}"
        s.add(endpoint)
        await append_audit(
            s,
            actor=actor,
            action="webhook.endpoint_enabled" if enabled else "webhook.endpoint_disabled",
            subject=f"endpoint:{endpoint_id}",
            details={"url": endpoint.url},
        )
        return endpoint
