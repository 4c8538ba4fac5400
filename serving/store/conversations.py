"""Conversation state inside a caller's transaction: snapshot, lock, append to the bounded tail.

A snapshot reads the newest tail messages' cached token ids only (not their text); text is read
for the few rows whose ids are stale (another `ids_key`, or none), and the whole tail only when a
case opens and needs it as evidence.

The conversation row is the per-conversation lock: `lock_conversation` creates it if missing
(INSERT ... ON CONFLICT DO NOTHING, race-free on both databases) and then locks it with
SELECT ... FOR UPDATE (PostgreSQL; on SQLite the surrounding BEGIN IMMEDIATE already serialises).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from groomguard.serving.store import accounts as account_db
from groomguard.serving.store.db import dialect_insert
from groomguard.serving.store.orm import ConversationRow, ReceiptRow, TailMessageRow, utcnow


@dataclass(frozen=True)
class TailIds:
    """One tail message as windowing needs it: cached ids, or author + text when they are stale."""

    seq: int
    token_ids: Sequence[int] | None  # None: stale, re-encode from author/text
    author: str = ""
    text: str = ""
    message_id: str | None = None


@dataclass
class Snapshot:
    """What an append needs to know about a conversation, read in one go."""

    conversation_id: str
    version: int = 0
    created_at: datetime | None = None  # with `version`, identifies the state (a purged id may be reused)
    message_count: int = 0
    roles: dict[str, str] = field(default_factory=dict)
    max_risk: float = 0.0
    tail: list[TailIds] = field(default_factory=list)  # oldest first, at most `window_limit`
    receipts: dict[str, ReceiptRow] = field(default_factory=dict)


def read_snapshot(session: Session, conversation_id: str, message_ids: Sequence[str], window_limit: int,
                  ids_key: str, row: ConversationRow | None = None) -> Snapshot:
    """Conversation counters, cached ids of the newest `window_limit` tail messages (author and text
    only where the ids are not cached under `ids_key`) and receipts of `message_ids`."""
    if row is None:
        row = session.get(ConversationRow, conversation_id)
    snap = Snapshot(conversation_id)
    if row is None:
        return snap
    snap.version, snap.created_at, snap.message_count = row.version, row.created_at, row.message_count
    snap.roles, snap.max_risk = dict(row.roles or {}), row.max_risk
    t = TailMessageRow
    newest = session.execute(
        select(t.seq, t.ids_key, t.token_ids, t.message_id).where(t.conversation_id == conversation_id)
        .order_by(t.seq.desc()).limit(window_limit)
    ).all()
    stale = [seq for seq, key, ids, _mid in newest if key != ids_key or ids is None]
    texts: dict[int, tuple[str, str]] = {}
    if stale:
        found = session.execute(select(t.seq, t.author, t.text).where(t.conversation_id == conversation_id,
                                                                      t.seq.in_(stale)))
        texts = {seq: (author, text) for seq, author, text in found}
    snap.tail = [TailIds(seq, None, *texts[seq], message_id=mid) if seq in texts else TailIds(seq, ids, message_id=mid)
                 for seq, _key, ids, mid in reversed(newest)]
    if message_ids:
        rec = session.scalars(
            select(ReceiptRow).where(ReceiptRow.conversation_id == conversation_id,
                                     ReceiptRow.message_id.in_(list(set(message_ids))))
        )
        snap.receipts = {r.message_id: r for r in rec}
    return snap


def read_tail(session: Session, conversation_id: str, tail_limit: int) -> list[TailMessageRow]:
    """The newest `tail_limit` tail rows, oldest first (evidence for a case being opened)."""
    rows = session.scalars(
        select(TailMessageRow).where(TailMessageRow.conversation_id == conversation_id)
        .order_by(TailMessageRow.seq.desc()).limit(tail_limit)
    )
    return list(reversed(list(rows)))


def cache_token_ids(session: Session, conversation_id: str, ids_by_seq: dict[int, list[int]], ids_key: str) -> None:
    """Store re-encoded ids of stale tail rows (bounded by the window's message count)."""
    t = TailMessageRow
    for seq, ids in ids_by_seq.items():
        session.execute(update(t).where(t.conversation_id == conversation_id, t.seq == seq)
                        .values(ids_key=ids_key, token_ids=ids))


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
    session.execute(dialect_insert(dialect)(ConversationRow).values(**values).on_conflict_do_nothing(
        index_elements=["conversation_id"]))
    return session.scalars(locked).one()


def add_tail(session: Session, conversation_id: str, rows: Sequence[dict[str, Any]], newest_seq: int,
             tail_limit: int) -> None:
    """Insert new tail messages (`TailMessageRow` column values; one bulk INSERT, no unit-of-work
    bookkeeping) and drop those that fell out of the bounded tail."""
    session.execute(insert(TailMessageRow), list(rows))
    if newest_seq >= tail_limit:
        session.execute(delete(TailMessageRow).where(TailMessageRow.conversation_id == conversation_id,
                                                     TailMessageRow.seq <= newest_seq - tail_limit))


def add_receipts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert receipts (`ReceiptRow` column values). A message_id already stored for the conversation
    raises IntegrityError (the primary key): the append re-runs under the row lock as a replay."""
    if rows:
        session.execute(insert(ReceiptRow), list(rows))


def delete_conversations(session: Session, conversation_ids: Sequence[str]) -> None:
    """Drop conversations with their tails and receipts, and their trace in account aggregates (retention)."""
    if not conversation_ids:
        return
    ids = list(conversation_ids)
    account_db.forget_conversations(session, ids)
    session.execute(delete(TailMessageRow).where(TailMessageRow.conversation_id.in_(ids)))
    session.execute(delete(ReceiptRow).where(ReceiptRow.conversation_id.in_(ids)))
    session.execute(delete(ConversationRow).where(ConversationRow.conversation_id.in_(ids)))
