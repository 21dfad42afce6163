"""long-term preservation flags (art. 20) in place of the free long_term checkbox;
trusted timestamps of audit checkpoints

A case that had ``long_term`` ticked keeps its protection: it becomes flagged with the
reason ``other`` and the old free text as its note (or a note saying where the flag
came from when there was none).

Revision ID: 0006
Revises: 0007
Create Date: 2026-12-01 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.store.types

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MIGRATED_NOTE = "长期保存 (long_term) before preservation flags"


def upgrade() -> None:
    op.create_table(
        "audit_timestamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_seq", sa.Integer(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", hotline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tsa", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", hotline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("checkpoint_seq"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preservation_reason",
                sqlmodel.sql.sqltypes.AutoString(length=32),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "preservation_note",
                sqlmodel.sql.sqltypes.AutoString(length=500),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("preserved_at", hotline.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "preserved_by",
                sqlmodel.sql.sqltypes.AutoString(length=128),
                nullable=False,
                server_default="",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_cases_preservation_reason"), ["preservation_reason"], unique=False
        )
    op.execute(
        sa.text(
            "UPDATE cases SET preservation_reason = 'other', "
            "preservation_note = CASE WHEN long_term_reason = '' THEN :note "
            "ELSE long_term_reason END, "
            "preserved_at = updated_at, preserved_by = 'migration' "
            "WHERE long_term"
        ).bindparams(note=_MIGRATED_NOTE)
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("long_term")
        batch_op.drop_column("long_term_reason")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("long_term", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "long_term_reason",
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=False,
                server_default="",
            )
        )
    op.execute(
        "UPDATE cases SET long_term = (preservation_reason <> ''), "
        "long_term_reason = SUBSTR(preservation_note, 1, 255)"
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_preservation_reason"))
        batch_op.drop_column("preserved_by")
        batch_op.drop_column("preserved_at")
        batch_op.drop_column("preservation_note")
        batch_op.drop_column("preservation_reason")
    op.drop_table("audit_timestamps")
