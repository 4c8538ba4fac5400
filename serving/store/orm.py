"""Tables of the store (SQLAlchemy 2 declarative). Migrations in `migrations/` must match these.

- `conversations`: one row per streamed conversation: the persisted author->role map (roles stay
  stable after the tail is truncated), counters, running max risk and a version used for
  optimistic concurrency.
- `tail_messages`: the bounded tail (newest `tail_messages` messages) that streaming scoring windows,
  with each message's token ids cached under the windower's `ids_key` (normalisation + tokenizer) so
  an append tokenises only its new messages; rows under another key (or none) are re-encoded.
- `message_receipts`: one row per accepted `message_id`, kept after the message leaves the tail, so
  appends stay idempotent; it also records the outcome the request returned so a replay answers the
  same.
- `cases`: review cases; a partial unique index allows one active (open/escalated) case per
  conversation, whatever the application code does.
- `case_messages` / `case_scores`: evidence copies and score history (both capped).
- `audit_log`: append-only record of every case action and key operation.
- `api_keys`: hashed API keys with scopes.
- `accounts` / `account_conversations` / `account_counterparts` / `case_links`: per-author aggregates
  (issue 25, serving/store/accounts.py), kept up to date in each append's transaction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

import numpy as np
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from groomguard.serving.store.statuses import ACTIVE_ACCOUNT_SQL, ACTIVE_CONVERSATION_SQL

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def utc(ts: datetime | None) -> datetime | None:
    """A message timestamp as aware UTC (a naive one is taken as UTC), as the columns store it."""
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, PostgreSQL gets the same values."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class TokenIds(TypeDecorator[list[int]]):
    """Token ids as little-endian int32 bytes: compact, and decoding costs no JSON parse."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> bytes | None:
        return None if value is None else np.asarray(value, dtype="<i4").tobytes()

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> list[int] | None:
        return None if value is None else np.frombuffer(value, dtype="<i4").tolist()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class ConversationRow(Base):
    __tablename__ = "conversations"

    conversation_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    message_count: Mapped[int] = mapped_column(Integer, default=0)  # messages ever accepted (= next seq)
    roles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    last_risk: Mapped[float] = mapped_column(Float, default=0.0)
    max_risk: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TailMessageRow(Base):
    __tablename__ = "tail_messages"

    conversation_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("conversations.conversation_id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime | None] = mapped_column()
    risk: Mapped[float | None] = mapped_column(Float)  # set on the newest message of each request
    ids_key: Mapped[str | None] = mapped_column(String(64))  # Windower.ids_key the token ids were made under
    token_ids: Mapped[list[int] | None] = mapped_column(TokenIds)  # rendered "<role>: <text>", no specials


class ReceiptRow(Base):
    __tablename__ = "message_receipts"

    conversation_id: Mapped[str] = mapped_column(
        String(255), ForeignKey("conversations.conversation_id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    risk: Mapped[float] = mapped_column(Float)
    max_risk: Mapped[float] = mapped_column(Float)
    case_id: Mapped[str | None] = mapped_column(String(64))


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_one_active_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(ACTIVE_CONVERSATION_SQL),
            postgresql_where=text(ACTIVE_CONVERSATION_SQL),
        ),
        Index(
            "uq_cases_one_active_per_account",
            "account",
            unique=True,
            sqlite_where=text(ACTIVE_ACCOUNT_SQL),
            postgresql_where=text(ACTIVE_ACCOUNT_SQL),
        ),
        Index("ix_cases_status_max_risk", "status", "max_risk"),
    )

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    risk: Mapped[float] = mapped_column(Float)  # newest window risk
    max_risk: Mapped[float] = mapped_column(Float)
    model_ref: Mapped[str] = mapped_column(String(255))
    roles: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decision_note: Mapped[str | None] = mapped_column(Text)
    evidence_version: Mapped[int] = mapped_column(Integer, default=0)
    # issue 25: "conversation" or "account"; an account case names its account here and the
    # conversation that completed the rule in `conversation_id` (its conversations: `case_links`)
    kind: Mapped[str] = mapped_column(String(16), default="conversation", server_default="conversation")
    account: Mapped[str | None] = mapped_column(String(255), index=True)


class CaseMessageRow(Base):
    __tablename__ = "case_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), ForeignKey("cases.case_id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime | None] = mapped_column()
    risk: Mapped[float | None] = mapped_column(Float)


class CaseScoreRow(Base):
    __tablename__ = "case_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), ForeignKey("cases.case_id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # message position the score was taken at
    risk: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    local: Mapped[bool] = mapped_column(Boolean, default=False)


# -- moderator desk (serving/desk): people, their sessions, case claims, second reviews ----------------
class UserRow(Base):
    """A person who works the review queue. Passwords are argon2id hashes; a disabled user keeps their
    row (their name stays in audit trails and decisions) but can no longer log in."""

    __tablename__ = "desk_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # moderator | lead | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    blur: Mapped[bool] = mapped_column(Boolean, default=True)  # message text blurred until revealed
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive; reset on success
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()


class DeskSessionRow(Base):
    """A login session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "desk_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), ForeignKey("desk_users.name", ondelete="CASCADE"),
                                           index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginClientRow(Base):
    """Failed desk logins per client address (issue 26): guessing spread over many accounts from one
    address is slowed even though no single account reaches its own lockout. Kept in the store, not in
    memory, so every replica sees the same count and a restart does not reset it."""

    __tablename__ = "desk_login_clients"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)  # IPv4/IPv6 text; longer ones are cut
    window_start: Mapped[datetime] = mapped_column(index=True)  # failures count from here for client_window_minutes
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)  # locks so far; each doubles the next
    locked_until: Mapped[datetime | None] = mapped_column()


class CaseClaimRow(Base):
    """Who works a case, so two moderators do not read the same one; a lead can reassign."""

    __tablename__ = "case_claims"

    case_id: Mapped[str] = mapped_column(String(64), ForeignKey("cases.case_id", ondelete="CASCADE"),
                                         primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecondReviewRow(Base):
    """A lead's request that a decided case be reviewed again by someone else (agreement figures)."""

    __tablename__ = "second_reviews"

    case_id: Mapped[str] = mapped_column(String(64), ForeignKey("cases.case_id", ondelete="CASCADE"),
                                         primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()


# -- accounts (issue 25, serving/store/accounts.py): per-author aggregates, O(1) per append ------------
class AccountRow(Base):
    """One message author's running aggregates. Counters move by deltas from `account_conversations`
    (never a scan of the author's conversations), so an append costs the same however busy the author."""

    __tablename__ = "accounts"

    author: Mapped[str] = mapped_column(String(255), primary_key=True)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    counterparts: Mapped[int] = mapped_column(Integer, default=0)  # distinct other authors met
    conversations_review: Mapped[int] = mapped_column(Integer, default=0)  # at review or high
    conversations_high: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    max_risk: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class AccountConversationRow(Base):
    """One author in one conversation: the highest risk of the windows ending at their messages and the
    level it gives. Written under the conversation's lock, so the account's delta is exact."""

    __tablename__ = "account_conversations"

    author: Mapped[str] = mapped_column(String(255), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    max_risk: Mapped[float] = mapped_column(Float, default=0.0)
    level: Mapped[str] = mapped_column(String(16), default="low")
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    review_at: Mapped[datetime | None] = mapped_column(index=True)  # when it first reached review


class AccountCounterpartRow(Base):
    """(author, someone they shared a conversation with): the set behind `accounts.counterparts`; an
    INSERT that finds the pair already there adds nothing, so distinct counts need no scan."""

    __tablename__ = "account_counterparts"

    author: Mapped[str] = mapped_column(String(255), primary_key=True)
    counterpart: Mapped[str] = mapped_column(String(255), primary_key=True)


class CaseLinkRow(Base):
    """The conversations an account case is about (no message is copied into an account case)."""

    __tablename__ = "case_links"

    case_id: Mapped[str] = mapped_column(String(64), ForeignKey("cases.case_id", ondelete="CASCADE"),
                                         primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
