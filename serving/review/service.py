"""Streaming conversation state and the review queue (DESIGN.md "Review queue").

`append_messages` semantics:
- Idempotent by `message_id`: a message whose id is already stored for the conversation (even one
  that has left the bounded tail) is counted as a duplicate and changes nothing. A request made only
  of duplicates writes nothing and answers what the original request answered (risk, max_risk,
  level, case_id; `accepted=0`, `case_opened=False` so a retry never counts a case twice). Messages
  without a `message_id` cannot be recognised and are always appended.
- Only the window ending at the newest message is scored, built from the bounded tail and the
  persisted author->role map, so cost does not grow with the conversation.
- Concurrency: optimistic first (score outside any lock, commit only if the conversation's version
  did not move), then, after `state.optimistic_retries` conflicts, pessimistic (lock the conversation
  row, then score). Locks: BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL. One active
  case per conversation is enforced by a partial unique index as well. Methods return after COMMIT.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from groomguard.schema import Conversation, Message
from groomguard.scores import Level, Thresholds
from groomguard.serving.review.errors import InvalidRequest
from groomguard.serving.review.influence import WindowScorer
from groomguard.serving.review.queue import CaseQueue
from groomguard.serving.review.views import PurgeResult
from groomguard.serving.settings import LimitsConfig
from groomguard.serving.store import RetentionConfig, StateConfig, Store, StoreError
from groomguard.serving.store import cases as case_db
from groomguard.serving.store import conversations as conv_db
from groomguard.serving.store.models import ConversationRow, ReceiptRow, TailMessageRow, utcnow
from groomguard.windowing import Windower, assign_roles

__all__ = ["AppendOutcome", "ReviewService", "RouteOutcome"]

log = logging.getLogger(__name__)
MAX_TRANSIENT_RETRIES = 8


@dataclass
class AppendOutcome:
    conversation_id: str
    risk: float  # newest window
    max_risk: float  # conversation's running maximum
    level: Level  # from max_risk
    case_id: str | None
    case_opened: bool
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class RouteOutcome:
    """What `/v1/score` with route=true did for one conversation."""

    case_id: str | None
    opened: bool


class _VersionMoved(Exception):
    """The conversation changed between our read and our write: re-plan."""


@dataclass
class _Plan:
    new: list[Message]
    duplicates: int
    roles: dict[str, str]
    window: list[int]
    tail_risks: dict[int, float | None]


def _check_sizes(conversation_id: str, messages: list[Message], limits: LimitsConfig) -> None:
    """Identifiers must fit `limits.max_id_chars` (the API checks the same limit at the edge, and it
    never exceeds the 255-character columns); the message never quotes the value."""
    top = limits.max_id_chars
    if not conversation_id or len(conversation_id) > top:
        raise InvalidRequest(f"conversation_id must be 1 to {top} characters")
    for i, m in enumerate(messages):
        if len(m.author) > top or (m.message_id is not None and not 1 <= len(m.message_id) <= top):
            raise InvalidRequest(f"messages[{i}]: author and message_id must be 1 to {top} characters")


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


class ReviewService(CaseQueue):
    def __init__(self, store: Store, scorer: WindowScorer, windower: Windower, thresholds: Thresholds,
                 model_ref: str, state: StateConfig, retention: RetentionConfig,
                 limits: LimitsConfig | None = None) -> None:
        self.store = store
        self.scorer = scorer
        self.windower = windower
        self.thresholds = thresholds
        self.model_ref = model_ref
        self.state = state
        self.retention = retention
        self.limits = limits or LimitsConfig()

    # -- streaming appends -------------------------------------------------------------------
    def append_messages(self, conversation_id: str, messages: list[Message]) -> AppendOutcome:
        most = self.limits.max_messages_per_append
        if not 1 <= len(messages) <= most:
            raise InvalidRequest(f"append takes 1 to {most} messages, got {len(messages)}")
        _check_sizes(conversation_id, messages, self.limits)
        conflicts = transient = 0
        while True:
            try:
                return self._append_once(conversation_id, messages, locked=conflicts >= self.state.optimistic_retries)
            except _VersionMoved:
                conflicts += 1
            except (IntegrityError, OperationalError) as exc:
                # a concurrent route_scored opened the case first, a deadlock, or SQLite's busy timeout
                transient += 1
                conflicts = max(conflicts, self.state.optimistic_retries)
                log.info("append to %r retried after %s", conversation_id, exc.__class__.__name__)
                if transient > MAX_TRANSIENT_RETRIES:
                    raise StoreError(f"append to conversation {conversation_id!r} failed: "
                                     f"{exc.__class__.__name__}") from None

    def _append_once(self, conversation_id: str, messages: list[Message], locked: bool) -> AppendOutcome:
        ids = [m.message_id for m in messages if m.message_id is not None]
        tail_n = self.state.tail_messages
        if not locked:
            with self.store.read() as s:
                snap = conv_db.read_snapshot(s, conversation_id, ids, tail_n)
            plan = self._plan(snap, messages)
            if not plan.new:
                return self._replay(snap, messages, plan.duplicates)
            risk = self._score(plan.window)
            with self.store.write() as s:
                row = conv_db.lock_conversation(s, conversation_id)
                if row.version != snap.version:
                    raise _VersionMoved
                return self._commit(s, row, snap, plan, risk)
        with self.store.write() as s:
            row = conv_db.lock_conversation(s, conversation_id)
            snap = conv_db.read_snapshot(s, conversation_id, ids, tail_n, row)
            plan = self._plan(snap, messages)
            if not plan.new:
                return self._replay(snap, messages, plan.duplicates)
            return self._commit(s, row, snap, plan, self._score(plan.window))

    def _score(self, window: list[int]) -> float:
        return float(self.scorer([window])[0])

    def _plan(self, snap: conv_db.Snapshot, messages: list[Message]) -> _Plan:
        seen = set(snap.receipts)
        new: list[Message] = []
        dups = 0
        for m in messages:
            if m.message_id is not None:
                if m.message_id in seen:
                    dups += 1
                    continue
                seen.add(m.message_id)
            new.append(m)
        roles = assign_roles(new, snap.roles)
        tail = [Message(author=t.author, text=t.text) for t in snap.tail] + new
        tail = tail[-self.state.tail_messages :]
        window = self.windower.newest_window(tail, roles).input_ids if new else []
        return _Plan(new, dups, roles, window, {t.seq: t.risk for t in snap.tail})

    def _replay(self, snap: conv_db.Snapshot, messages: list[Message], duplicates: int) -> AppendOutcome:
        """All duplicates: answer what the request that first carried the newest of them answered."""
        receipts = [snap.receipts[m.message_id] for m in messages if m.message_id in snap.receipts]
        last = max(receipts, key=lambda r: r.seq)
        return AppendOutcome(snap.conversation_id, last.risk, last.max_risk, self._level(last.max_risk),
                             last.case_id, False, 0, duplicates)

    def _commit(self, s: Session, row: ConversationRow, snap: conv_db.Snapshot, plan: _Plan,
                risk: float) -> AppendOutcome:
        cid, start, now = row.conversation_id, row.message_count, utcnow()
        newest = start + len(plan.new) - 1
        new_rows = [
            TailMessageRow(conversation_id=cid, seq=start + i, message_id=m.message_id, author=m.author, text=m.text,
                           timestamp=_utc(m.timestamp), risk=risk if start + i == newest else None)
            for i, m in enumerate(plan.new)
        ]
        conv_db.add_tail(s, cid, new_rows, newest, self.state.tail_messages)
        max_risk = max(row.max_risk, risk)
        row.message_count, row.version, row.roles = newest + 1, row.version + 1, plan.roles
        row.last_risk, row.max_risk, row.last_activity_at = risk, max_risk, now
        new_evidence = [case_db.EvidenceIn(r.seq, r.message_id, r.author, r.text, r.timestamp, r.risk)
                        for r in new_rows]
        case = case_db.active_case(s, cid, lock=True)
        opened = False
        if case is None and risk >= self.thresholds.review:
            old = [case_db.EvidenceIn(t.seq, t.message_id, t.author, t.text, t.timestamp, t.risk) for t in snap.tail]
            evidence = (old + new_evidence)[-self.state.tail_messages :]
            case = case_db.open_case(s, cid, risk=risk, level=self._level(risk), model_ref=self.model_ref,
                                     roles=plan.roles, seq=newest, evidence=evidence,
                                     evidence_cap=self.state.case_evidence_messages)
            opened = True
        elif case is not None:
            case_db.update_case(s, case, risk=risk, level_of=self._level, seq=newest, roles=plan.roles,
                                evidence=new_evidence, evidence_cap=self.state.case_evidence_messages,
                                history_cap=self.state.max_score_history)
        case_id = case.case_id if case is not None else None
        conv_db.add_receipts(s, [
            ReceiptRow(conversation_id=cid, message_id=m.message_id, seq=start + i, risk=risk, max_risk=max_risk,
                       case_id=case_id)
            for i, m in enumerate(plan.new) if m.message_id is not None
        ])
        if opened:
            log.info("case %s opened for conversation %r (risk %.3f)", case_id, cid, risk)
        return AppendOutcome(cid, risk, max_risk, self._level(max_risk), case_id, opened, len(plan.new),
                             plan.duplicates)

    # -- stateless scoring with routing ------------------------------------------------------------
    def route_scored(self, conv: Conversation, risk_by_message: list[float]) -> RouteOutcome:
        """Open or update a case from a conversation scored whole (`/v1/score` with route=true).

        Nothing is written unless the conversation's max risk reaches the review threshold. Messages
        already in the case (same message_id, else same author/text/timestamp) are not copied twice.
        """
        if len(risk_by_message) != len(conv.messages):
            raise InvalidRequest("risk_by_message must have one risk per message")
        _check_sizes(conv.conversation_id, conv.messages, self.limits)
        max_risk = max(risk_by_message)
        if max_risk < self.thresholds.review:
            return RouteOutcome(None, False)
        roles = assign_roles(conv.messages)
        for attempt in range(MAX_TRANSIENT_RETRIES + 1):
            try:
                with self.store.write() as s:
                    case = case_db.active_case(s, conv.conversation_id, lock=True)
                    known = case_db.known_evidence_keys(s, case.case_id) if case is not None else set()
                    evidence = [
                        case_db.EvidenceIn(i, m.message_id, m.author, m.text, _utc(m.timestamp), risk_by_message[i])
                        for i, m in enumerate(conv.messages)
                        if (("id", m.message_id) if m.message_id else ("m", m.author, m.text, _utc(m.timestamp)))
                        not in known
                    ]
                    last = len(conv.messages) - 1
                    opened = case is None
                    if case is None:
                        case = case_db.open_case(
                            s, conv.conversation_id, risk=risk_by_message[last], level=self._level(max_risk),
                            model_ref=self.model_ref, roles=roles, seq=last, evidence=evidence,
                            evidence_cap=self.state.case_evidence_messages)
                        case.max_risk = max_risk
                    elif evidence:
                        case_db.update_case(s, case, risk=risk_by_message[last], level_of=self._level, seq=last,
                                            roles=roles, evidence=evidence,
                                            evidence_cap=self.state.case_evidence_messages,
                                            history_cap=self.state.max_score_history)
                        case.max_risk = max(case.max_risk, max_risk)
                        case.level = self._level(case.max_risk)
                    case_id = case.case_id
                if opened:
                    log.info("case %s opened for conversation %r (routed score)", case_id, conv.conversation_id)
                return RouteOutcome(case_id, opened)
            except (IntegrityError, OperationalError) as exc:
                if attempt == MAX_TRANSIENT_RETRIES:
                    raise StoreError(f"routing conversation {conv.conversation_id!r} failed: "
                                     f"{exc.__class__.__name__}") from None
        raise AssertionError("unreachable")

    # -- retention -----------------------------------------------------------------------------
    def purge(self, now: datetime | None = None) -> PurgeResult:
        from groomguard.serving.retention import purge

        return purge(self.store, self.retention, now)
