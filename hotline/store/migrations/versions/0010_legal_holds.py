"""legal holds follow preservation flags: a hold job for each case flagged before

Cases flagged for long-term preservation before holds followed the flags (marked
by hand, or ticked ``long_term`` before 0006) get the job that puts legal holds on
their objects. Where the evidence is a local directory, which has no holds, the job
ends at once without doing anything. No schema change.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import hotline.store.types

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in ``hotline.evidence.holds`` when this revision was written.
_KIND = "legal_hold"
_ORDERING_KEY = "legal-holds"
_ATTEMPTS = 30


def upgrade() -> None:
    bind = op.get_bind()
    preserved = bind.execute(
        sa.text("SELECT id FROM cases WHERE preservation_reason <> '' ORDER BY id")
    ).scalars()
    now = datetime.now(UTC)
    jobs = sa.table(
        "jobs",
        sa.column("kind", sa.String()),
        sa.column("payload", sa.JSON()),
        sa.column("status", sa.String()),
        sa.column("ordering_key", sa.String()),
        sa.column("case_id", sa.Integer()),
        sa.column("attempts", sa.Integer()),
        sa.column("max_attempts", sa.Integer()),
        sa.column("run_after", hotline.store.types.UTCDateTime(timezone=True)),
        sa.column("last_error", sa.Text()),
        sa.column("created_at", hotline.store.types.UTCDateTime(timezone=True)),
        sa.column("updated_at", hotline.store.types.UTCDateTime(timezone=True)),
    )
    rows = [
        {
            "kind": _KIND,
            "payload": {"case_id": case_id, "why": "marked"},
            "status": "queued",
            "ordering_key": _ORDERING_KEY,
            "case_id": case_id,
            "attempts": 0,
            "max_attempts": _ATTEMPTS,
            "run_after": now,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
        }
        for case_id in preserved
    ]
    if rows:
        op.bulk_insert(jobs, rows)


def downgrade() -> None:
    # The holds already set stay (evidence is never released by a schema change); the
    # jobs not yet run go.
    op.execute(
        sa.text(
            "DELETE FROM jobs WHERE kind = :kind AND status IN ('queued', 'running')"
        ).bindparams(kind=_KIND)
    )
