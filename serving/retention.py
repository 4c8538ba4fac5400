"""Retention: expire idle conversation tails and purge old decided cases.

- A conversation with no activity for `tail_inactive_days` and no active (open/escalated) case
  (its own, or an account case linking it) loses its tail, role map and idempotency receipts (a later
  message starts it afresh) and its trace in every account's aggregates (serving/store/accounts.py).
- Cases decided as confirmed/dismissed more than `decided_case_days` ago are deleted with their
  evidence, score history and audit entries. Open and escalated cases are never purged.
Each run is itself audited (counts only). `PeriodicPurge` runs it on a timer inside the server;
`groomguard store purge` runs it once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy import select

from groomguard.serving.store import RetentionConfig, Store
from groomguard.serving.store import cases as case_db
from groomguard.serving.store import conversations as conv_db
from groomguard.serving.store.orm import ConversationRow

log = logging.getLogger(__name__)
BATCH = 500


class PurgeResult(BaseModel):
    """What a retention run deleted."""

    conversations: int = 0
    cases: int = 0
    ran_at: datetime


def purge(store: Store, retention: RetentionConfig, now: datetime | None = None, dry_run: bool = False) -> PurgeResult:
    """Delete what retention says must go, in batches of short transactions; returns the counts."""
    now = now or datetime.now(timezone.utc)
    tail_cutoff = now - timedelta(days=retention.tail_inactive_days)
    case_cutoff = now - timedelta(days=retention.decided_case_days)
    result = PurgeResult(ran_at=now)
    conv_q = (select(ConversationRow.conversation_id)
              .where(ConversationRow.last_activity_at < tail_cutoff,
                     case_db.no_active_case(ConversationRow.conversation_id))
              .order_by(ConversationRow.conversation_id))
    if dry_run:
        with store.read() as s:
            result.conversations = len(list(s.scalars(conv_q)))
            result.cases = len(case_db.purgeable_case_ids(s, case_cutoff))
        return result
    # FOR UPDATE (PostgreSQL): an append that commits between this SELECT and the DELETE would
    # otherwise lose its acknowledged message with the idle tail. A row is re-checked once its lock
    # is granted (a conversation that came back is no longer idle); rows an append holds are skipped
    # until the next run. SQLite ignores it: its write transactions are serial already.
    locked_batch = conv_q.limit(BATCH).with_for_update(of=ConversationRow, skip_locked=True)
    while True:
        with store.write() as s:
            ids = list(s.scalars(locked_batch))
            conv_db.delete_conversations(s, ids)
        result.conversations += len(ids)
        if len(ids) < BATCH:
            break
    while True:
        with store.write() as s:
            ids = case_db.purgeable_case_ids(s, case_cutoff, BATCH)
            case_db.delete_cases(s, ids)
        result.cases += len(ids)
        if len(ids) < BATCH:
            break
    with store.write() as s:
        case_db.audit(s, "retention:purge", "system", detail={"conversations": result.conversations,
                                                               "cases": result.cases}, at=now)
    log.info("retention purge: %d conversations, %d decided cases removed", result.conversations, result.cases)
    return result


class PeriodicPurge:
    """Background thread running `purge` every `purge_interval_minutes` (first run after one interval).

    Every replica may run it: deletes are idempotent and batched, so overlapping runs are harmless.
    """

    def __init__(self, store: Store, retention: RetentionConfig) -> None:
        self.store = store
        self.retention = retention
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: PurgeResult | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="groomguard-retention", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = self.retention.purge_interval_minutes * 60
        while not self._stop.wait(interval):
            try:
                self.last = purge(self.store, self.retention)
            except Exception as exc:  # keep the timer alive; the next run retries
                log.warning("retention purge failed: %s", exc.__class__.__name__)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
