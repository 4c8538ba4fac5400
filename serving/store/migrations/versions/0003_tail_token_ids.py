"""Cached per-message token ids in the conversation tail (flat append path).

Existing rows get NULL ids: serving re-encodes them on first use (a NULL or foreign `ids_key` is
stale), so the upgrade needs no tokenizer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ids_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_ids", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tail_messages", schema=None) as batch_op:
        batch_op.drop_column("token_ids")
        batch_op.drop_column("ids_key")
