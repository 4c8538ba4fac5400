"""Conversation state inside a caller's transaction: snapshot, lock, append to the bounded tail.

The conversation row is the per-conversation lock: `lock_conversation` creates it if missing
(INSERT ... ON CONFLICT DO NOTHING, race-free on both databases) and then locks it with
SELECT ... FOR UPDATE (PostgreSQL; on SQLite the surrounding BEGIN IMMEDIATE already serialises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groomguard.serving.store.models import ConversationRow, ReceiptRow, TailMessageRow, utcnow


@dataclass
class Snapshot:
    """What an append needs to know about a conversation, read in one go."""

    conversation_id: str
    version: int = 0
    message_count: int = 0
    roles: dict[str, str] = field(default_factory=dict)
    max_risk: float = 0.0
    tail: list[TailMessageRow] = field(default_factory=list)
    receipts: dict[str, ReceiptRow] = field(default_factory=dict)


def read_snapshot(session: Session, conversation_id: str, message_ids: Sequence[str], tail_limit: int,
                  row: ConversationRow | None = None) -> Snapshot:
    """Conversation counters, newest `tail_limit` tail messages and receipts of `message_ids`."""
    if row is None:
        row = session.get(ConversationRow, conversation_id)
    snap = Snapshot(conversation_id)
    if row is None:
        return snap
    snap.version, snap.message_count = row.version, row.message_count
    snap.roles, snap.max_risk = dict(row.roles or {}), row.max_risk
    tail = session.scalars(
        select(TailMessageRow).where(TailMessageRow.conversation_id == conversation_id)
        .order_by(TailMessageRow.seq.desc()).limit(tail_limit)
    )
    snap.tail = list(reversed(list(tail)))
    if message_ids:
        rec = session.scalars(
            select(ReceiptRow).where(ReceiptRow.conversation_id == conversation_id,
                                     ReceiptRow.message_id.in_(list(set(message_ids))))
        )
        snap.receipts = {r.message_id: r for r in rec}
    return snap


def lock_conversation(session: Session, conversation_id: str) -> ConversationRow:
    """Create-if-missing and lock the conversation row for the rest of the transaction."""
    locked = (select(ConversationRow).where(ConversationRow.conversation_id == conversation_id)
              .with_for_update().execution_options(populate_existing=True))
    row = session.scalars(locked).first()
    if row is not None:
        return row
    dialect = session.get_bind().dialect.name
    values = {"conversation_id": conversation_id, "version": 0, "message_count": 0, "roles": {},
              "last_risk": 0.0, "max_risk": 0.0, "created_at": utcnow(), "last_activity_at": utcnow()}
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(ConversationRow).values(**values).on_conflict_do_nothing(
        index_elements=["conversation_id"]))
    return session.scalars(locked).one()


def add_tail(session: Session, conversation_id: str, rows: Sequence[TailMessageRow], newest_seq: int,
             tail_limit: int) -> None:
    """Insert new tail messages and drop those that fell out of the bounded tail."""
    session.add_all(rows)
    session.flush()
    if newest_seq >= tail_limit:
        session.execute(delete(TailMessageRow).where(TailMessageRow.conversation_id == conversation_id,
                                                     TailMessageRow.seq <= newest_seq - tail_limit))


def add_receipts(session: Session, rows: Sequence[ReceiptRow]) -> None:
    session.add_all(rows)
    session.flush()


def delete_conversations(session: Session, conversation_ids: Sequence[str]) -> None:
    """Drop conversations with their tails and receipts (retention)."""
    if not conversation_ids:
        return
    ids = list(conversation_ids)
    session.execute(delete(TailMessageRow).where(TailMessageRow.conversation_id.in_(ids)))
    session.execute(delete(ReceiptRow).where(ReceiptRow.conversation_id.in_(ids)))
    session.execute(delete(ConversationRow).where(ConversationRow.conversation_id.in_(ids)))
