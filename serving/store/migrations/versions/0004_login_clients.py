"""Failed desk logins per client address (issue 26: slow-down per address as well as per account).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_login_clients",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_desk_login_clients")),
    )
    with op.batch_alter_table("desk_login_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_login_clients_window_start"), ["window_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("desk_login_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_login_clients_window_start"))
    op.drop_table("desk_login_clients")
