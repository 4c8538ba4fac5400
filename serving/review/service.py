"""The review service: one object the API and the desk hold, made of explicit parts.

- `Appends` (appends.py): streaming appends, a window scored per new message, cases opened/updated;
- `Routing` (routing.py): conversations scored whole by `/v1/score` with route=true into cases;
- `CaseReads` (case_reads.py): the case list, one case with its explanation, the export;
- `Decisions` (decisions.py): moderators' verdicts;
- `AccountReads` (account_reads.py): per-account aggregates (written by appends, issue 25);
- retention (serving/retention.py): the purge.

Each method hands its call to the part that owns it; `build` wires the parts from the serve config.
docs/design.md "Review queue"; an append's path through the code: docs/design.md "The append walk".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.retention import PurgeResult, purge
from groomguard.serving.review.account_reads import AccountReads
from groomguard.serving.review.appends import AppendOutcome, Appends, AsyncWindowScorer
from groomguard.serving.review.case_reads import CaseReads
from groomguard.serving.review.decisions import Decisions
from groomguard.serving.review.influence import WindowScorer
from groomguard.serving.review.routing import RouteOutcome, Routing
from groomguard.serving.review.snapshot_cache import SnapshotCache
from groomguard.serving.review.views import AccountDetail, AccountPage, CaseDetail, CasePage
from groomguard.serving.settings import LimitsConfig
from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig, Store
from groomguard.serving.store.account_rule import AccountRule
from groomguard.serving.store.statuses import Decision
from groomguard.windowing import Windower

__all__ = ["ReviewService"]


class ReviewService:
    def __init__(self, appends: Appends, routing: Routing, reads: CaseReads, decisions: Decisions,
                 store: Store, retention: RetentionConfig, accounts: AccountReads | None = None) -> None:
        self.appends = appends
        self.routing = routing
        self.reads = reads
        self.decisions = decisions
        self.store = store
        self.retention = retention
        self.accounts = accounts or AccountReads(store, LimitsConfig().max_page_size)

    @classmethod
    def build(cls, store: Store, scorer: WindowScorer, windower: Windower, thresholds: Thresholds, model_ref: str,
              state: StateConfig, retention: RetentionConfig, limits: LimitsConfig | None = None,
              async_scorer: AsyncWindowScorer | None = None,
              accounts: AccountsConfig | None = None) -> ReviewService:
        """The parts over one store and one model. `scorer` scores inline (the sync form, case
        explanations); `async_scorer` (the micro-batcher's) is what the served append path awaits."""
        # never keep a conversation's ids in memory longer than retention keeps its tail on disk
        idle_s = min(state.snapshot_cache_idle_seconds, retention.tail_inactive_days * 86_400 / 2)
        snapshots = SnapshotCache(state.snapshot_cache_conversations, idle_s)
        reads = CaseReads(store, scorer, windower, state)
        accounts = accounts or AccountsConfig()
        rule = AccountRule.from_config(accounts, thresholds.review)
        appends = Appends(store, scorer, windower, thresholds, model_ref, state, limits or LimitsConfig(), snapshots,
                          async_scorer, rule)
        return cls(appends, Routing(store, thresholds, model_ref, state), reads, Decisions(store, reads), store,
                   retention, AccountReads(store, (limits or LimitsConfig()).max_page_size))

    # -- appends: the route awaits the coroutine `appends.append` itself; this sync form (tests, CLI,
    # benchmarks) runs the same coroutine inline ------------------------------------------------------
    def append_messages(self, conversation_id: str, messages: list[Message]) -> AppendOutcome:
        return self.appends.append_sync(conversation_id, messages)

    # -- routed scores, reads, decisions, retention --------------------------------------------------
    def route_scored(self, conv: Conversation, risk_by_message: list[float]) -> RouteOutcome:
        return self.routing.route_scored(conv, risk_by_message)

    def list_cases(self, status: str | None, level: str | None, limit: int, offset: int) -> CasePage:
        return self.reads.list_cases(status, level, limit, offset)

    def get_case(self, case_id: str, explain: bool = True) -> CaseDetail:
        return self.reads.get_case(case_id, explain)

    def export_decided(self) -> Iterator[Conversation]:
        return self.reads.export_decided()

    def decide(self, case_id: str, decision: Decision, note: str | None, actor: str) -> CaseDetail:
        return self.decisions.decide(case_id, decision, note, actor)

    def list_accounts(self, limit: int, offset: int) -> AccountPage:
        return self.accounts.list_accounts(limit, offset)

    def get_account(self, author: str) -> AccountDetail:
        return self.accounts.get_account(author)

    def purge(self, now: datetime | None = None) -> PurgeResult:
        return purge(self.store, self.retention, now)
