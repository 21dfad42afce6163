"""transcripts: what the machine dropped, and how much of the audio had voice

``report`` holds, for a machine transcript, the guards' dropped segments with their
reasons, the seconds kept and dropped, and the seconds voice activity detection heard
voice in (``transcriber.Transcript.drop_report``); and for a handler's re-run, what it
was asked for (language, model). Transcripts made before this revision have ``{}``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.drop_column("report")
