"""Accounts (issue 25): per-author aggregates, account cases and the conversations they link.

The one-active-case index becomes one active *conversation* case per conversation; account cases
have their own (one active per account).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# spelt out, not imported: a migration must not change when the application's constants do
ACTIVE = "status IN ('open', 'escalated')"
ACTIVE_CONVERSATION = ACTIVE + " AND kind = 'conversation'"
ACTIVE_ACCOUNT = ACTIVE + " AND kind = 'account'"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("counterparts", sa.Integer(), nullable=False),
        sa.Column("conversations_review", sa.Integer(), nullable=False),
        sa.Column("conversations_high", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("max_risk", sa.Float(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("author", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_max_risk"), ["max_risk"], unique=False)
    op.create_table(
        "account_conversations",
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("max_risk", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("review_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("author", "conversation_id", name=op.f("pk_account_conversations")),
    )
    with op.batch_alter_table("account_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_conversations_conversation_id"), ["conversation_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_account_conversations_review_at"), ["review_at"], unique=False)
    op.create_table(
        "account_counterparts",
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("counterpart", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("author", "counterpart", name=op.f("pk_account_counterparts")),
    )
    op.create_table(
        "case_links",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.case_id"], name=op.f("fk_case_links_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "conversation_id", name=op.f("pk_case_links")),
    )
    with op.batch_alter_table("case_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_links_conversation_id"), ["conversation_id"], unique=False)

    op.add_column("cases", sa.Column("kind", sa.String(length=16), server_default="conversation", nullable=False))
    op.add_column("cases", sa.Column("account", sa.String(length=255), nullable=True))
    op.drop_index("uq_cases_one_active_per_conversation", table_name="cases")
    op.create_index("ix_cases_account", "cases", ["account"], unique=False)
    op.create_index("uq_cases_one_active_per_conversation", "cases", ["conversation_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE_CONVERSATION), postgresql_where=sa.text(ACTIVE_CONVERSATION))
    op.create_index("uq_cases_one_active_per_account", "cases", ["account"], unique=True,
                    sqlite_where=sa.text(ACTIVE_ACCOUNT), postgresql_where=sa.text(ACTIVE_ACCOUNT))


def downgrade() -> None:
    op.drop_index("uq_cases_one_active_per_account", table_name="cases")
    op.drop_index("uq_cases_one_active_per_conversation", table_name="cases")
    op.drop_index("ix_cases_account", table_name="cases")
    op.execute("DELETE FROM cases WHERE kind = 'account'")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("account")
        batch_op.drop_column("kind")
    op.create_index("uq_cases_one_active_per_conversation", "cases", ["conversation_id"], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    op.drop_table("case_links")
    op.drop_table("account_counterparts")
    with op.batch_alter_table("account_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_conversations_review_at"))
        batch_op.drop_index(batch_op.f("ix_account_conversations_conversation_id"))
    op.drop_table("account_conversations")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_max_risk"))
    op.drop_table("accounts")
