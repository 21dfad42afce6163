"""evidence objects (S3 version, retain-until), pending seals, node leases

Recordings sealed before this revision keep ``object_version`` and ``retain_until``
empty: they are in the local directory, which has neither.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 07:47:35.482176
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hotline.store.types

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "node_leases",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("acquired_at", hotline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", hotline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "pending_seals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", hotline.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", hotline.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pending_seals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_seals_key"), ["key"], unique=False)

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "object_version", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("retain_until", hotline.store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("retain_until")
        batch_op.drop_column("object_version")

    with op.batch_alter_table("pending_seals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_seals_key"))

    op.drop_table("pending_seals")
    op.drop_table("node_leases")
