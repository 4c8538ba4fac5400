"""Case statuses, defined once for the store, the review service, the API and the desk.

A case opens `open`; a moderator's decision makes it `escalated` (still active: it stays in the
queue and can be decided again), `confirmed` or `dismissed` (final). Active cases are the ones the
partial unique index allows one of per conversation and that retention never purges; decided ones
are exported as training data. Kept in the store package because the index predicate depends on them
(and the store must not import the review service that sits above it).
"""

from __future__ import annotations

from typing import Final, Literal

CaseStatus = Literal["open", "escalated", "confirmed", "dismissed"]
Decision = Literal["confirmed", "dismissed", "escalated"]  # what a moderator can decide

OPEN: Final = "open"
ESCALATED: Final = "escalated"
CONFIRMED: Final = "confirmed"
DISMISSED: Final = "dismissed"

STATUSES: Final[tuple[CaseStatus, ...]] = (OPEN, ESCALATED, CONFIRMED, DISMISSED)
ACTIVE_STATUSES: Final[tuple[CaseStatus, ...]] = (OPEN, ESCALATED)
DECIDED_STATUSES: Final[tuple[Decision, ...]] = (CONFIRMED, DISMISSED, ESCALATED)
FINAL_STATUSES: Final[tuple[Decision, ...]] = (CONFIRMED, DISMISSED)

# SQL predicate of the one-active-case-per-conversation index (migration 0001 spells out the same).
ACTIVE_SQL: Final = "status IN (" + ", ".join(f"'{s}'" for s in ACTIVE_STATUSES) + ")"

# Case kinds (issue 25): a conversation case (evidence: the conversation's messages) or an account case
# (the account rule: one author at `review` in several conversations with distinct counterparts; it
# links those conversations and copies no message). Migration 0005 restricts the index above to
# conversation cases and adds one active account case per account.
CaseKind = Literal["conversation", "account"]
CONVERSATION_KIND: Final = "conversation"
ACCOUNT_KIND: Final = "account"
ACTIVE_CONVERSATION_SQL: Final = ACTIVE_SQL + " AND kind = 'conversation'"
ACTIVE_ACCOUNT_SQL: Final = ACTIVE_SQL + " AND kind = 'account'"
