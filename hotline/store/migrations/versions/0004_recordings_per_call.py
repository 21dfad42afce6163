"""recordings belong to their call: the same bytes may be sealed for several calls

Drops the unique constraint on ``recordings.sha256`` (two calls, or two legs of one
call, can produce byte-identical files: each is that call's evidence) and keeps an
index on it for the lookups by hash. Existing rows are kept as they are.

The constraint was unnamed in 0001: PostgreSQL called it ``recordings_sha256_key``
(looked up rather than assumed); SQLite's table is rebuilt in batch mode, which names
the reflected constraint through the naming convention below.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_INDEX = "ix_recordings_sha256"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table(
            "recordings", naming_convention=_NAMES, recreate="always"
        ) as batch_op:
            batch_op.drop_constraint("uq_recordings_sha256", type_="unique")
            batch_op.create_index(_INDEX, ["sha256"], unique=False)
        return
    for constraint in sa.inspect(bind).get_unique_constraints("recordings"):
        if constraint["column_names"] == ["sha256"] and constraint["name"]:
            op.drop_constraint(constraint["name"], "recordings", type_="unique")
    op.create_index(_INDEX, "recordings", ["sha256"], unique=False)


def downgrade() -> None:
    # Only possible while no two recordings share their bytes (the database refuses
    # otherwise, and nothing is changed).
    with op.batch_alter_table("recordings", naming_convention=_NAMES) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.create_unique_constraint("uq_recordings_sha256", ["sha256"])
