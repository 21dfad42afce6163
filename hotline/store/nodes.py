"""Tables for several hotline nodes on one database: seals in flight (so an upload
whose commit failed is found at the next start) and leases (so exactly one node
follows a PBX)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hotline.store.types import UTCDateTime, utcnow


class PendingSeal(SQLModel, table=True):
    """A recording being sealed: written before its bytes go to the evidence backend,
    removed in the transaction that records the recording. One left behind names an
    object that may be stored without a recording row."""

    __tablename__ = "pending_seals"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, index=True)
    sha256: str = Field(max_length=64)
    size: int
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When it was reported as an object without a recording (``recording.orphaned``)."""


class NodeLease(SQLModel, table=True):
    """A role that one node at a time may hold (``asterisk``: following the PBX)."""

    __tablename__ = "node_leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=255)
    term: int = 0
    """Raised at every change of holder: a fencing token."""
    acquired_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
