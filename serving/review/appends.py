"""Streaming appends: the part of `ReviewService` that takes messages and scores a window per new message.

Semantics (docs/design.md "Review queue"; the path through the code: docs/design.md "The append walk"):
- Idempotent by `message_id`: a message whose id is already stored for the conversation (even one
  that has left the bounded tail) is a duplicate and changes nothing. A request of duplicates only
  writes nothing and answers what was recorded for its newest message (risk, running max, level,
  case id; `accepted=0`, `case_opened=False`), so a retried request gets the original answer.
  Messages without a `message_id` cannot be recognised and are always appended.
- Every new message gets its window: k new messages score the k windows ending at each (one batched
  scorer call), so running max, stored per-message risks, receipts and case opening equal what
  `groomguard score` computes on the conversation, however a pipeline groups its messages. Only the
  new messages are tokenised; older ones come from token ids cached in the tail under the windower's
  `ids_key` (only the rows one window can hold are read). Rows cached under another key or none are
  re-encoded once with the persisted author->role map and written back.
- Concurrency: optimistic first (score outside any lock, commit only if the conversation's version
  did not move), then, after `state.optimistic_retries` conflicts, pessimistic (lock the row, then
  score). Locks: BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL; one active case per
  conversation is also a partial unique index. Returns after COMMIT.
- One protocol, `Appends.append` (a coroutine). Served: store work in worker threads, the micro-batch
  awaited, so no thread is held while queued. `append_sync` (tests, benchmarks, scripts) runs the same
  coroutine with every step inline and the plain scorer: it never suspends, so needs no event loop.
- Request limits are checked first (serving/review/request_limits.py), before any store or model work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from groomguard.schema import Message
from groomguard.scores import Level, Thresholds, level_for
from groomguard.serving.review.influence import WindowScorer
from groomguard.serving.review.request_limits import check_append
from groomguard.serving.review.snapshot_cache import SnapshotCache, knows_any, newest_window_tail
from groomguard.serving.settings import LimitsConfig
from groomguard.serving.store import StateConfig, Store, StoreError, StoreFull, is_disk_full
from groomguard.serving.store import accounts as account_db
from groomguard.serving.store import cases as case_db
from groomguard.serving.store import conversations as conv_db
from groomguard.serving.store.db import MAX_TRANSIENT_RETRIES
from groomguard.serving.store.orm import ConversationRow, utc, utcnow
from groomguard.serving.tail_check import max_messages_per_window
from groomguard.windowing import Windower, assign_roles

log = logging.getLogger(__name__)
T = TypeVar("T")
# Token-id windows in, one risk per window out, awaited (the micro-batcher's `score_async`).
AsyncWindowScorer = Callable[[list[list[int]]], Awaitable[list[float]]]
# A plan from the snapshot cache is CPU work only (tokenise the new messages): up to this many
# messages it runs on the event loop, sparing a worker-thread hand-off; larger requests use a thread.
INLINE_PLAN_MESSAGES = 8


@dataclass
class AppendOutcome:
    conversation_id: str
    risk: float  # the window ending at the newest message
    max_risk: float  # conversation's running maximum (over every message's window)
    level: Level  # from max_risk
    case_id: str | None
    case_opened: bool
    accepted: int
    duplicates: int


async def _step(threaded: bool, fn: Callable[..., T], *args: Any) -> T:
    """One blocking step of the protocol: in a worker thread, or inline (it then never suspends)."""
    return await to_thread.run_sync(fn, *args) if threaded else fn(*args)


class _VersionMoved(Exception):
    """The conversation changed between our read and our write: re-plan."""


@dataclass
class _Plan:
    new: list[Message]
    duplicates: int
    roles: dict[str, str]
    windows: list[list[int]]  # the window ending at each new message, oldest first
    new_ids: list[list[int]] = field(default_factory=list)  # token ids of `new`, cached with them
    recomputed: dict[int, list[int]] = field(default_factory=dict)  # stale tail rows re-encoded: seq -> ids
    tail: list[conv_db.TailIds] = field(default_factory=list)  # the snapshot's tail, every row with ids
    after: conv_db.Snapshot | None = None  # the conversation once committed (for the snapshot cache)


def run_inline(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine whose awaits all finish at once (`Appends.append` with
    threaded=False): one `send` runs it to the end, no event loop needed, any thread may call it."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("an inline append suspended: it must not await a thread or the batcher")


class Appends:
    """The append path. `scorer` scores inline (and in a worker thread when no `async_scorer`);
    `async_scorer` is the micro-batcher's awaitable, used by the served path."""

    def __init__(self, store: Store, scorer: WindowScorer, windower: Windower, thresholds: Thresholds,
                 model_ref: str, state: StateConfig, limits: LimitsConfig, snapshots: SnapshotCache,
                 async_scorer: AsyncWindowScorer | None = None,
                 account_rule: account_db.AccountRule | None = None) -> None:
        self.store = store
        self.account_rule = account_rule  # None: aggregates only, no account cases
        self.scorer = scorer
        self.async_scorer = async_scorer
        self.windower = windower
        self.thresholds = thresholds
        self.model_ref = model_ref
        self.state = state
        self.limits = limits
        self.snapshots = snapshots

    # -- the protocol --------------------------------------------------------------------------------
    async def append(self, conversation_id: str, messages: list[Message], threaded: bool = True) -> AppendOutcome:
        """Append `messages` (oldest first); returns after COMMIT. `threaded`: store work in worker
        threads and scoring awaited (the event loop's form); else every step inline (`append_sync`)."""
        check_append(conversation_id, messages, self.limits)
        conflicts = transient = 0
        while True:
            try:
                if conflicts >= self.state.optimistic_retries:
                    # rare: holds the row lock while scoring, so it runs in one thread throughout
                    return await _step(threaded, self._append_locked, conversation_id, messages)
                cached = await _step(threaded and len(messages) > INLINE_PLAN_MESSAGES,
                                     self._cached_plan, conversation_id, messages)
                if cached is None:
                    cached = await _step(threaded, self._read_plan, conversation_id, messages)
                snap, plan = cached
                if not plan.new:
                    return self._replay(snap, messages, plan.duplicates)
                if threaded and self.async_scorer is not None:
                    risks = [float(r) for r in await self.async_scorer(plan.windows)]
                else:
                    risks = await _step(threaded, self._score, plan.windows)
                return await _step(threaded, self._commit_unchanged, snap, plan, risks)
            except _VersionMoved:
                self.snapshots.discard(conversation_id)
                conflicts += 1
            except (IntegrityError, OperationalError) as exc:
                self.snapshots.discard(conversation_id)
                transient = self._transient(conversation_id, exc, transient)
                conflicts = max(conflicts, self.state.optimistic_retries)

    def append_sync(self, conversation_id: str, messages: list[Message]) -> AppendOutcome:
        """`append` for callers without an event loop: the same coroutine, run inline."""
        return run_inline(self.append(conversation_id, messages, threaded=False))

    # -- steps -------------------------------------------------------------------------------------
    def _transient(self, conversation_id: str, exc: Exception, transient: int) -> int:
        """A concurrent route_scored opened the case first, a deadlock, or SQLite's busy timeout."""
        if is_disk_full(exc):  # retrying at once cannot help: fail fast, the client retries later
            raise StoreFull(f"append to conversation {conversation_id!r} failed: the database or its disk is full"
                            ) from None
        log.info("append to %r retried after %s", conversation_id, exc.__class__.__name__)
        if transient + 1 > MAX_TRANSIENT_RETRIES:
            raise StoreError(f"append to conversation {conversation_id!r} failed: {exc.__class__.__name__}") from None
        return transient + 1

    def _level(self, risk: float) -> Level:
        return level_for(risk, self.thresholds)

    def window_limit(self) -> int:
        """Stored rows the newest window can use: at most all but one of the messages a window holds
        (the newest is always new), and never more than the tail."""
        return min(self.state.tail_messages, max_messages_per_window(self.windower) - 1)

    def _snapshot(self, s: Session, conversation_id: str, messages: list[Message],
                  row: ConversationRow | None = None) -> conv_db.Snapshot:
        ids = [m.message_id for m in messages if m.message_id is not None]
        return conv_db.read_snapshot(s, conversation_id, ids, self.window_limit(), self.windower.ids_key, row)

    def _read_plan(self, conversation_id: str, messages: list[Message]) -> tuple[conv_db.Snapshot, _Plan]:
        with self.store.read() as s:
            snap = self._snapshot(s, conversation_id, messages)
        return snap, self._plan(snap, messages)

    def _cached_plan(self, conversation_id: str, messages: list[Message]) -> tuple[conv_db.Snapshot, _Plan] | None:
        """A plan from the snapshot this process committed last (serving/review/snapshot_cache.py), or
        None: not cached, or the request repeats a cached message (a retry: the database answers it)."""
        snap = self.snapshots.get(conversation_id)
        if snap is None or knows_any(snap, [m.message_id for m in messages]):
            return None
        return snap, self._plan(snap, messages)

    def _commit_unchanged(self, snap: conv_db.Snapshot, plan: _Plan, risks: list[float]) -> AppendOutcome:
        with self.store.write() as s:
            row = conv_db.lock_conversation(s, snap.conversation_id)
            # a snapshot taken before the conversation existed has no created_at: any new row matches
            if row.version != snap.version or (snap.created_at is not None and row.created_at != snap.created_at):
                raise _VersionMoved
            out = self._commit(s, row, plan, risks)
        self._remember(plan)
        return out

    def _append_locked(self, conversation_id: str, messages: list[Message]) -> AppendOutcome:
        with self.store.write() as s:
            row = conv_db.lock_conversation(s, conversation_id)
            snap = self._snapshot(s, conversation_id, messages, row)
            plan = self._plan(snap, messages)
            if not plan.new:
                return self._replay(snap, messages, plan.duplicates)
            out = self._commit(s, row, plan, self._score(plan.windows))
        self._remember(plan)
        return out

    def _remember(self, plan: _Plan) -> None:
        """After COMMIT: the conversation as written is the next append's snapshot."""
        if plan.after is not None:
            self.snapshots.put(plan.after.conversation_id, plan.after)

    def _score(self, windows: list[list[int]]) -> list[float]:
        return [float(r) for r in self.scorer(windows)]

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
        if not new:
            return _Plan(new, dups, roles, [])
        stale = [t for t in snap.tail if t.token_ids is None]
        w = self.windower
        fresh = w.encode_messages([Message(author=t.author, text=t.text) for t in stale], roles) if stale else []
        recomputed = {t.seq: ids for t, ids in zip(stale, fresh, strict=True)}
        new_ids = w.encode_messages(new, roles)
        tail = [t if t.token_ids is not None else conv_db.TailIds(t.seq, recomputed[t.seq], message_id=t.message_id)
                for t in snap.tail]
        # The tail holds every stored message the oldest new message's window can use; each window sees
        # at most `tail_messages` messages, as before.
        ids = [t.token_ids or () for t in tail] + new_ids
        ends = range(len(tail), len(ids))
        windows = [w.assemble_newest(ids[max(0, end + 1 - self.state.tail_messages) : end + 1]) for end in ends]
        return _Plan(new, dups, roles, windows, new_ids, recomputed, tail)

    def _after(self, row: ConversationRow, plan: _Plan, start: int, max_risk: float) -> conv_db.Snapshot:
        """The conversation as `_commit` leaves it (new messages from seq `start`), for the snapshot
        cache (receipts not included)."""
        added = [conv_db.TailIds(start + i, ids, message_id=m.message_id)
                 for i, (m, ids) in enumerate(zip(plan.new, plan.new_ids, strict=True))]
        return conv_db.Snapshot(row.conversation_id, version=row.version, created_at=row.created_at,
                                message_count=row.message_count, roles=dict(plan.roles), max_risk=max_risk,
                                tail=newest_window_tail(self.windower, plan.tail + added))

    def _replay(self, snap: conv_db.Snapshot, messages: list[Message], duplicates: int) -> AppendOutcome:
        """All duplicates: answer what was recorded for the newest of them (its receipt)."""
        receipts = [snap.receipts[m.message_id] for m in messages if m.message_id in snap.receipts]
        last = max(receipts, key=lambda r: r.seq)
        return AppendOutcome(snap.conversation_id, last.risk, last.max_risk, self._level(last.max_risk),
                             last.case_id, False, 0, duplicates)

    def _commit(self, s: Session, row: ConversationRow, plan: _Plan, risks: list[float]) -> AppendOutcome:
        cid, start, now = row.conversation_id, row.message_count, utcnow()
        newest = start + len(plan.new) - 1
        risk = risks[-1]
        running, best = [], row.max_risk  # the conversation's running maximum after each new message
        for r in risks:
            best = max(best, r)
            running.append(best)
        max_risk = running[-1]
        key = self.windower.ids_key
        new_rows: list[dict[str, Any]] = [  # TailMessageRow column values
            {"conversation_id": cid, "seq": start + i, "message_id": m.message_id, "author": m.author, "text": m.text,
             "timestamp": utc(m.timestamp), "risk": risks[i], "ids_key": key, "token_ids": ids}
            for i, (m, ids) in enumerate(zip(plan.new, plan.new_ids, strict=True))
        ]
        if plan.recomputed:
            conv_db.cache_token_ids(s, cid, plan.recomputed, key)
        conv_db.add_tail(s, cid, new_rows, newest, self.state.tail_messages)
        row.message_count, row.version, row.roles = newest + 1, row.version + 1, plan.roles
        row.last_risk, row.max_risk, row.last_activity_at = risk, max_risk, now
        case = case_db.active_case(s, cid, lock=True)
        opened = False
        points = [(start + i, r) for i, r in enumerate(risks)]  # the case's score history: every new window
        level = self._level(max(risks))  # the one threshold rule (groomguard.scores.level_for)
        if case is None and level != "low":
            # the whole bounded tail (old + new) is the case's first evidence; read only now, when needed
            evidence = [case_db.EvidenceIn(t.seq, t.message_id, t.author, t.text, t.timestamp, t.risk)
                        for t in conv_db.read_tail(s, cid, self.state.tail_messages)]
            case = case_db.open_case(s, cid, points=points, level=level, model_ref=self.model_ref,
                                     roles=plan.roles, evidence=evidence,
                                     evidence_cap=self.state.case_evidence_messages,
                                     history_cap=self.state.max_score_history)
            opened = True
        elif case is not None:
            new_evidence = [case_db.EvidenceIn(r["seq"], r["message_id"], r["author"], r["text"], r["timestamp"],
                                               r["risk"]) for r in new_rows]
            case_db.update_case(s, case, points=points, level_of=self._level, roles=plan.roles,
                                evidence=new_evidence, evidence_cap=self.state.case_evidence_messages,
                                history_cap=self.state.max_score_history)
        case_id = case.case_id if case is not None else None
        accounts_opened = account_db.after_append(s, cid, [m.author for m in plan.new], risks, self._level,
                                                  self.account_rule, self.model_ref, now)
        plan.after = self._after(row, plan, start, max_risk)
        conv_db.add_receipts(s, [
            {"conversation_id": cid, "message_id": m.message_id, "seq": start + i, "risk": risks[i],
             "max_risk": running[i], "case_id": case_id}
            for i, m in enumerate(plan.new) if m.message_id is not None
        ])
        if opened:
            log.info("case %s opened for conversation %r (risk %.3f)", case_id, cid, max(risks))
        for account_case in accounts_opened:
            log.info("account case %s opened (conversation %r completed the account rule)", account_case, cid)
        return AppendOutcome(cid, risk, max_risk, self._level(max_risk), case_id, opened, len(plan.new),
                             plan.duplicates)
