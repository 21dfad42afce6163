"""Tables for reaching the case system: endpoints, the event outbox, deliveries, and
what came back (callbacks already seen)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.store.types import UTCDateTime, utcnow


class WebhookEndpoint(SQLModel, table=True):
    """A case-system endpoint: where events go, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1024, unique=True)
    secret: str = Field(max_length=256)
    """``whsec_<base64>``, shared with the case system."""
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Event types sent here; empty means all."""
    enabled: bool = True
    disabled_reason: str = Field(default="", max_length=255)
    origin: str = Field(default="cli", max_length=16)
    """``settings`` (from HOTLINE_WEBHOOK_URL) or ``cli``."""
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


class WebhookEvent(SQLModel, table=True):
    """One event in the outbox, written in the transaction of the change it reports."""

    __tablename__ = "webhook_events"

    id: int | None = Field(default=None, primary_key=True)
    msg_id: str = Field(max_length=64, unique=True)
    """The ``webhook-id`` every attempt of every delivery of this event carries."""
    type: str = Field(max_length=32, index=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    recording_id: int | None = Field(default=None, foreign_key="recordings.id")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    """Every attempt failed (or the endpoint answered 410 Gone); replayable."""
    CANCELLED = "cancelled"
    """The endpoint was disabled before this delivery went out."""


class Delivery(SQLModel, table=True):
    """An event on its way to one endpoint; a ``deliver`` job carries it."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="webhook_events.id", index=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoints.id", index=True)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str = Field(default="", sa_type=Text)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CallbackReceipt(SQLModel, table=True):
    """A callback from the case system, kept so a replayed ``webhook-id`` is refused."""

    __tablename__ = "callback_receipts"

    msg_id: str = Field(primary_key=True, max_length=128)
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoints.id")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ServerSecret(SQLModel, table=True):
    """Keys the service makes for itself once and every process shares (link signing)."""

    __tablename__ = "server_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
