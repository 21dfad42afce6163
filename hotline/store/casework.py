"""Tables that support the people working on calls and cases: the intake form an
operator fills in during a live call, and the full-text search index over cases.

``case_search`` has a per-database companion that the ORM does not describe (so
Alembic's autogenerate must leave it alone, see ``UNMANAGED``): on SQLite an FTS5 table
``case_search_fts`` kept in step by triggers, on PostgreSQL a generated ``tsv`` column
with a GIN index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from hotline.store.tables import AuditEvent
from hotline.store.types import UTCDateTime, utcnow

# A case's page shows its history: the events about the case and about its call
# (``subject = 'call:12'``, written before the case existed).
Index("ix_audit_events_subject", AuditEvent.__table__.c.subject)  # type: ignore[attr-defined]


class CallIntake(SQLModel, table=True):
    """What the operator typed while the call was live. The case opens only once the
    recording is sealed; then these fields are copied onto it (``case_id`` set)."""

    __tablename__ = "call_intakes"

    id: int | None = Field(default=None, primary_key=True)
    call_ref: str = Field(max_length=128, unique=True)
    """The call source's id for the call (``calls.external_id``)."""
    operator: str = Field(max_length=64)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class CaseSearch(SQLModel, table=True):
    """One row per case: its searchable text and the tokens the index is built from."""

    __tablename__ = "case_search"

    case_id: int = Field(
        primary_key=True, foreign_key="cases.id", sa_column_kwargs={"autoincrement": False}
    )
    body: str = Field(default="", sa_type=Text)
    """Normalised text (NFKC, lower case) for exact phrase checks."""
    tokens: str = Field(default="", sa_type=Text)
    """Words and Chinese character uni/bigrams, encoded as ASCII (``hotline.search``)."""
    transcript_id: int = 0
    """The newest transcript row folded in; a newer one means the row is stale."""
    indexed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


UNMANAGED_TABLE_PREFIX = "case_search_fts"
UNMANAGED_COLUMNS = {("case_search", "tsv")}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic autogenerate filter: skip the search index's per-database parts."""
    name = name or ""
    if type_ == "table":
        return not name.startswith(UNMANAGED_TABLE_PREFIX)
    if type_ == "column" and reflected:
        table = getattr(getattr(obj, "table", None), "name", None)
        return (table, name) not in UNMANAGED_COLUMNS
    return not (type_ == "index" and name.startswith("ix_case_search_tsv"))
