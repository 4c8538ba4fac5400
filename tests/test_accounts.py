"""Accounts (issue 25): per-author aggregates kept with every append, the account rule, purge.

Expectations are computed independently: by hand for the pinned scenario, and from the stored tail
(every message's author and window risk) for the concurrent one. Real SQLite and real PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, func, select

from groomguard.schema import Message
from groomguard.scores import Thresholds, level_for
from groomguard.serving.retention import purge
from groomguard.serving.review import ReviewService
from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig, Store
from groomguard.serving.store.account_rule import AccountRule, crossed
from groomguard.serving.store.accounts import after_append
from groomguard.serving.store.orm import (
    AccountConversationRow,
    AccountCounterpartRow,
    AccountRow,
    AuditRow,
    CaseLinkRow,
    CaseRow,
    ConversationRow,
    TailMessageRow,
)
from groomguard.windowing import Windower
from tests.support.store import KeywordScorer, process_account_appender

pytest_plugins = ["tests.support.store_fixtures"]

TH = Thresholds(review=0.5, high=0.8)
RISKY = "keep this secret"  # KeywordScorer: 0.9 for a window holding "secret", else 0.1
PLAIN = "see you at practice"
FIELDS = ("conversations", "counterparts", "conversations_review", "conversations_high", "messages", "max_risk")


def service(store: Store, windower: Windower, rule: int = 3, enabled: bool = True,
            scorer: Any = None, min_risk: float | None = None) -> ReviewService:
    return ReviewService.build(store, scorer or KeywordScorer(windower), windower, TH, "test@1",
                               StateConfig(tail_messages=1000), RetentionConfig(),
                               accounts=AccountsConfig(rule_enabled=enabled, rule_conversations=rule, rule_days=30,
                                                       rule_min_risk=min_risk))


class WordScorer:
    """A window's risk is the highest risk of the words below it holds (0.1 without any): risks are
    set by hand per message, so the rule's arithmetic can be worked out on paper."""

    def __init__(self, windower: Windower) -> None:
        risk = {"apple": 0.3, "banana": 0.35, "cherry": 0.4, "orange": 0.45}
        self.by_id = {windower.tokenizer.encode(w, add_special_tokens=False).ids[0]: r for w, r in risk.items()}

    def __call__(self, windows: list[list[int]]) -> list[float]:
        return [max([0.1, *(self.by_id.get(t, 0.0) for t in w)]) for w in windows]


def say(author: str, text: str, mid: str) -> list[Message]:
    return [Message(author=author, text=text, message_id=mid)]


def accounts(store: Store) -> dict[str, tuple[Any, ...]]:
    with store.read() as s:
        return {r.author: tuple(getattr(r, f) for f in FIELDS) for r in s.scalars(select(AccountRow))}


def recompute(store: Store) -> dict[str, tuple[Any, ...]]:
    """The aggregates from first principles: every stored message's author and window risk."""
    with store.read() as s:
        rows = s.execute(select(TailMessageRow.conversation_id, TailMessageRow.author, TailMessageRow.risk)).all()
    risk: dict[tuple[str, str], float] = defaultdict(float)
    msgs: dict[str, int] = defaultdict(int)
    people: dict[str, set[str]] = defaultdict(set)
    for conv, author, r in rows:
        risk[(author, conv)] = max(risk[(author, conv)], float(r))
        msgs[author] += 1
        people[conv].add(author)
    out = {}
    for author in msgs:
        mine = {c: v for (a, c), v in risk.items() if a == author}
        met = set().union(*(people[c] for c in mine)) - {author}
        out[author] = (len(mine), len(met), sum(v >= TH.review for v in mine.values()),
                       sum(v >= TH.high for v in mine.values()), msgs[author], max(mine.values()))
    return out


def test_aggregates_pinned(store: Store, windower: Windower) -> None:
    svc = service(store, windower, enabled=False)
    svc.append_messages("c1", say("adult_x", PLAIN, "1"))
    svc.append_messages("c1", say("kid_a", PLAIN, "2"))
    svc.append_messages("c1", say("adult_x", RISKY, "3"))  # c1 reaches high for adult_x (and its window)
    svc.append_messages("c2", say("adult_x", PLAIN, "4"))
    svc.append_messages("c2", say("kid_b", PLAIN, "5"))
    svc.append_messages("c3", say("kid_a", PLAIN, "6"))  # kid_a again: not a new counterpart of adult_x
    svc.append_messages("c3", say("adult_x", PLAIN, "7"))
    svc.append_messages("c3", say("adult_x", PLAIN, "8"))
    svc.append_messages("c1", say("adult_x", PLAIN, "1"))  # a duplicate changes nothing
    got = accounts(store)
    # conversations, counterparts, at review, at high, messages, max risk
    assert got["adult_x"] == (3, 2, 1, 1, 5, 0.9)
    assert got["kid_a"] == (2, 1, 0, 0, 2, 0.1)  # its window in c1 came before the risky message
    assert got["kid_b"] == (1, 1, 0, 0, 1, 0.1)
    assert got == recompute(store)
    with store.read() as s:
        pairs = set(s.execute(select(AccountCounterpartRow.author, AccountCounterpartRow.counterpart)).tuples())
    assert pairs == {("adult_x", "kid_a"), ("kid_a", "adult_x"), ("adult_x", "kid_b"), ("kid_b", "adult_x")}


def test_statements_per_append(store: Store, windower: Windower) -> None:
    """The aggregate work an append adds: pinned, so a scan sneaking in fails here."""
    svc = service(store, windower)
    svc.append_messages("s1", say("adult_x", PLAIN, "1"))
    svc.append_messages("s1", say("kid_a", PLAIN, "2"))
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        svc.append_messages("s1", say("adult_x", PLAIN, "3"))
        steady = [st for st in seen]
        seen.clear()
        svc.append_messages("s1", say("kid_c", PLAIN, "4"))  # a newcomer: + counterpart pairs
        joined = list(seen)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    steady, joined = [st for st in steady if st != "BEGIN"], [st for st in joined if st != "BEGIN"]
    # before issue 25 a steady append ran 5: lock the conversation, INSERT tail, UPDATE conversation,
    # SELECT active case, INSERT receipts. Accounts add: SELECT author rows, UPDATE (author,
    # conversation), upsert the account row; a newcomer: INSERT (author, conversation) + INSERT pairs.
    assert steady == ["SELECT", "INSERT", "UPDATE", "SELECT", "SELECT", "UPDATE", "INSERT", "INSERT"]
    assert joined == ["SELECT", "INSERT", "UPDATE", "SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "INSERT"]
    with store.read() as s:
        assert s.scalar(select(AccountRow.counterparts).where(AccountRow.author == "adult_x")) == 2


def test_concurrent_appends_keep_counts(store: Store, windower: Windower) -> None:
    """Threads append to several conversations of one account at once (separate services, like
    replicas); the aggregates must equal a recomputation from the stored messages."""
    svcs = [service(store, windower, rule=2) for _ in range(4)]

    def work(k: int) -> None:
        conv = f"cc{k}"
        for i in range(6):
            svcs[k].append_messages(conv, say("adult_x", RISKY if i == 3 and k % 2 == 0 else PLAIN, f"x{i}"))
            svcs[k].append_messages(conv, say(f"kid_{k % 3}", PLAIN, f"k{i}"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    got = accounts(store)
    assert got == recompute(store)
    assert got["adult_x"] == (4, 3, 2, 2, 24, 0.9)  # kid_0 twice (cc0, cc3); cc0 and cc2 risky
    with store.read() as s:
        cases = list(s.scalars(select(CaseRow).where(CaseRow.kind == "account")))
        assert len(cases) == 1 and cases[0].account == "adult_x"
        links = set(s.scalars(select(CaseLinkRow.conversation_id).where(CaseLinkRow.case_id == cases[0].case_id)))
    assert links == {"cc0", "cc2"}


def test_concurrent_processes_keep_counts(store: Store, db_url: str) -> None:
    """The same from separate processes (replicas with their own engines and snapshot caches)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        done = [pool.apply_async(process_account_appender, (db_url, k, 6)) for k in range(4)]
        assert [d.get(timeout=300) for d in done] == [6] * 4
    got = accounts(store)
    assert got == recompute(store)
    assert got["adult_x"] == (4, 3, 2, 2, 24, 0.9)
    assert got["kid_0"] == (2, 1, 1, 1, 12, 0.9)  # its replies in pc0 follow the risky message
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.kind == "account")) == 1


def test_account_rule(store: Store, windower: Windower) -> None:
    svc = service(store, windower, rule=3)
    for k, kid in enumerate(["kid_a", "kid_a", "kid_b"]):  # three at review, two counterparts: no case
        svc.append_messages(f"r{k}", say(kid, PLAIN, "1"))
        svc.append_messages(f"r{k}", say("adult_x", RISKY, "2"))
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.kind == "account")) == 0
    svc.append_messages("r3", say("kid_c", PLAIN, "1"))
    out = svc.append_messages("r3", say("adult_x", RISKY, "2"))  # third distinct counterpart
    assert out.case_id is not None  # the conversation's own case
    with store.read() as s:
        acct = s.scalars(select(CaseRow).where(CaseRow.kind == "account")).one()
    detail = svc.get_case(acct.case_id)
    assert detail.kind == "account" and detail.account == "adult_x" and detail.messages == []
    assert detail.linked_conversations == ["r0", "r1", "r2", "r3"]
    assert detail.conversation_id == "r3" and detail.status == "open" and detail.level == "high"
    svc.append_messages("r4", say("kid_d", PLAIN, "1"))
    svc.append_messages("r4", say("adult_x", RISKY, "2"))  # later ones are linked, no second case
    assert svc.get_case(acct.case_id).linked_conversations == ["r0", "r1", "r2", "r3", "r4"]
    decided = svc.decide(acct.case_id, "escalated", "looking into it", actor="mod-1")
    assert decided.status == "escalated"
    assert [a.action for a in decided.audit] == ["opened", "account:linked", "decision:escalated"]
    # the account case is in the queue, and never in the verdict export (it copies no message)
    assert acct.case_id in {c.case_id for c in svc.list_cases(None, None, 50, 0).items}
    assert all(c.conversation_id != "r3" or c.source for c in svc.export_decided())
    page = svc.list_accounts(10, 0)
    assert page.items[0].author == "adult_x" and page.items[0].open_cases == 6  # 5 conversation + 1 account
    one = svc.get_account("adult_x")
    assert [c.conversation_id for c in one.conversation_list] == ["r0", "r1", "r2", "r3", "r4"]
    assert {c.kind for c in one.cases} == {"account", "conversation"} and len(one.cases) == 6


def test_purge_forgets_conversations(store: Store, windower: Windower) -> None:
    svc = service(store, windower, enabled=False)
    svc.append_messages("p1", say("adult_x", PLAIN, "1"))
    svc.append_messages("p1", say("kid_a", PLAIN, "2"))
    svc.append_messages("p2", say("adult_x", PLAIN, "1"))
    svc.append_messages("p2", say("kid_b", PLAIN, "2"))
    svc.append_messages("p2", say("adult_x", PLAIN, "3"))
    later = datetime.now(timezone.utc) + timedelta(days=31)
    with store.write() as s:  # p2 stays active: only p1 is idle
        s.execute(ConversationRow.__table__.update().where(ConversationRow.conversation_id == "p2")
                  .values(last_activity_at=later))
    assert purge(store, RetentionConfig(tail_inactive_days=30), later).conversations == 1
    got = accounts(store)
    assert got == recompute(store)
    assert got["adult_x"] == (1, 1, 0, 0, 2, 0.1)  # p1's message and kid_a are gone from its counts
    assert "kid_a" not in got
    with store.read() as s:
        assert set(s.scalars(select(AccountConversationRow.conversation_id))) == {"p2"}
        assert "p1" not in set(s.scalars(select(CaseLinkRow.conversation_id)))
        assert s.scalar(select(func.count()).select_from(AuditRow)) >= 1


def test_retention_keeps_what_an_active_account_case_links(store: Store, windower: Windower) -> None:
    """A conversation linked to an open account case is kept; once the case is decided it can go."""
    svc = service(store, windower, rule=2)
    for k in range(2):
        svc.append_messages(f"q{k}", say(f"kid_{k}", PLAIN, "1"))
        svc.append_messages(f"q{k}", say("adult_x", RISKY, "2"))
    with store.read() as s:
        acct = s.scalars(select(CaseRow).where(CaseRow.kind == "account")).one()
        own = list(s.scalars(select(CaseRow.case_id).where(CaseRow.kind == "conversation")))
    assert len(own) == 2
    for case_id in own:  # their own conversation cases end, so only the account case holds them
        svc.decide(case_id, "dismissed", None, actor="mod-1")
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert purge(store, RetentionConfig(tail_inactive_days=30), later).conversations == 0
    svc.decide(acct.case_id, "dismissed", None, actor="mod-1")
    assert purge(store, RetentionConfig(tail_inactive_days=30), later).conversations == 2
    assert accounts(store) == {} == recompute(store)
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(AccountCounterpartRow)) == 0


def account_cases(store: Store) -> list[CaseRow]:
    with store.read() as s:
        return list(s.scalars(select(CaseRow).where(CaseRow.kind == "account")))


def test_rule_min_risk_counts_conversations_below_review(store: Store, windower: Windower) -> None:
    """adult_x's risks 0.3 / 0.35 / 0.4 in three conversations with three children, review at 0.5: no
    conversation reaches review; with rule_min_risk 0.25 the third conversation completes the rule."""
    svc = service(store, windower, rule=3, scorer=WordScorer(windower), min_risk=0.25)
    for k, (kid, word) in enumerate([("kid_a", "apple"), ("kid_b", "banana")]):
        svc.append_messages(f"m{k}", say(kid, PLAIN, "1"))
        assert svc.append_messages(f"m{k}", say("adult_x", f"want an {word}", "2")).case_id is None
    assert account_cases(store) == []  # two conversations: not yet
    svc.append_messages("m2", say("kid_c", PLAIN, "1"))
    out = svc.append_messages("m2", say("adult_x", "want a cherry", "2"))
    assert out.case_id is None and out.level == "low"  # the conversation alone is below review
    (acct,) = account_cases(store)
    assert acct.account == "adult_x" and acct.conversation_id == "m2"
    assert acct.level == "review"  # the rule is what asks for a review, never "low"
    assert acct.risk == 0.4 and acct.max_risk == 0.4
    detail = svc.get_case(acct.case_id)
    assert detail.linked_conversations == ["m0", "m1", "m2"]
    with store.read() as s:
        opened = s.scalars(select(AuditRow).where(AuditRow.case_id == acct.case_id)).one()
    assert opened.action == "opened" and opened.detail["min_risk"] == 0.25 and opened.detail["conversations"] == 3
    # a fourth conversation crossing 0.25 is linked; one that stays at 0.1 is not
    svc.append_messages("m3", say("kid_d", PLAIN, "1"))
    svc.append_messages("m3", say("adult_x", "an orange", "2"))
    svc.append_messages("m4", say("kid_e", PLAIN, "1"))
    svc.append_messages("m4", say("adult_x", PLAIN, "2"))
    assert svc.get_case(acct.case_id).linked_conversations == ["m0", "m1", "m2", "m3"]
    assert len(account_cases(store)) == 1


def test_rule_is_checked_when_the_child_answers_an_account_that_wrote_first(store: Store,
                                                                             windower: Windower) -> None:
    """Serial contact opens conversations: adult_x writes first in w1 (0.3) and w2 (0.35), minimum 0.25,
    rule 2. When w2 crosses, only kid_a has answered (one counterpart): no case. kid_b's answer gives
    the second counterpart, and the rule is checked then (before, nothing re-checked it and the account
    waited for a third conversation). A later newcomer in w2 opens nothing more and audits nothing."""
    svc = service(store, windower, rule=2, scorer=WordScorer(windower), min_risk=0.25)
    svc.append_messages("w1", say("adult_x", "want an apple", "1"))
    svc.append_messages("w1", say("kid_a", PLAIN, "2"))
    svc.append_messages("w2", say("adult_x", "a banana", "1"))
    assert account_cases(store) == []  # two conversations at the minimum, one counterpart
    svc.append_messages("w2", say("kid_b", PLAIN, "2"))
    (acct,) = account_cases(store)
    assert acct.account == "adult_x" and acct.conversation_id == "w2"
    assert svc.get_case(acct.case_id).linked_conversations == ["w1", "w2"]
    svc.append_messages("w2", say("kid_c", PLAIN, "3"))
    assert len(account_cases(store)) == 1
    with store.read() as s:
        assert [a.action for a in s.scalars(select(AuditRow).where(AuditRow.case_id == acct.case_id))] == ["opened"]


def test_rule_min_risk_null_is_the_review_threshold(store: Store, windower: Windower) -> None:
    """The same conversations with rule_min_risk null (= review 0.5): none counts, no case at all."""
    svc = service(store, windower, rule=3, scorer=WordScorer(windower), min_risk=None)
    for k, (kid, word) in enumerate([("kid_a", "apple"), ("kid_b", "banana"), ("kid_c", "cherry")]):
        svc.append_messages(f"n{k}", say(kid, PLAIN, "1"))
        svc.append_messages(f"n{k}", say("adult_x", f"want an {word}", "2"))
    assert account_cases(store) == []
    assert accounts(store)["adult_x"][:4] == (3, 3, 0, 0)  # the aggregates count them all the same


def test_rule_min_risk_crossing_is_the_only_trigger(store: Store, windower: Windower) -> None:
    """Once a conversation is above the minimum, further appends run the steady 8 statements (no
    rule query); a rise from 0.3 to 0.4 within one conversation is no second crossing."""
    svc = service(store, windower, rule=3, scorer=WordScorer(windower), min_risk=0.25)
    svc.append_messages("t1", say("kid_a", PLAIN, "1"))
    svc.append_messages("t1", say("adult_x", "want an apple", "2"))
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        svc.append_messages("t1", say("adult_x", "and a cherry", "3"))
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert [st for st in seen if st != "BEGIN"] == ["SELECT", "INSERT", "UPDATE", "SELECT", "SELECT", "UPDATE",
                                                    "INSERT", "INSERT"]


def test_rule_counts_conversations_active_within_the_days(store: Store) -> None:
    """`after_append` driven with explicit times (as `evaluate --accounts` replays a corpus): a
    conversation counts while the author wrote in it within rule_days, and the rule is checked when a
    conversation crosses the minimum. Worked by hand, rule 3 conversations in 30 days, minimum 0.25."""
    rule = AccountRule(conversations=3, days=30, min_risk=0.25)
    t0 = datetime(2024, 3, 1, tzinfo=timezone.utc)

    def append(conv: str, author: str, risk: float, day: float) -> list[str]:
        with store.write() as s:
            return after_append(s, conv, [author], [risk], lambda r: level_for(r, TH), rule, "test@1",
                                t0 + timedelta(days=day))

    for conv, kid, day in (("d1", "kid_a", 0), ("d2", "kid_b", 10), ("d3", "kid_c", 45)):
        append(conv, kid, 0.1, day)
        assert append(conv, "adult_x", 0.3, day) == []  # day 45: d1 (last written day 0) is out of the window
    assert append("d1", "adult_x", 0.3, 46) == []  # d1 active again, but no crossing: no check
    append("d4", "kid_d", 0.1, 47)
    opened = append("d4", "adult_x", 0.3, 47)  # d1 (day 46), d3, d4 within 30 days; d2 (day 10) is not
    assert len(opened) == 1
    with store.read() as s:
        links = set(s.scalars(select(CaseLinkRow.conversation_id).where(CaseLinkRow.case_id == opened[0])))
    assert links == {"d1", "d3", "d4"}


def test_rule_from_config() -> None:
    assert AccountRule.from_config(AccountsConfig(), 0.6) == AccountRule(2, 30, 0.6)  # configs/serve.yaml's default
    assert AccountRule.from_config(AccountsConfig(rule_min_risk=0.2, rule_conversations=4), 0.6) == AccountRule(4, 30,
                                                                                                                0.2)
    assert AccountRule.from_config(AccountsConfig(rule_enabled=False), 0.6) is None
    # a fraction of the bundle's review threshold follows the bundle: 0.9 x 0.6 = 0.54
    assert AccountRule.from_config(AccountsConfig(rule_min_risk_fraction=0.9), 0.6) == AccountRule(2, 30, 0.54)
    # above review (stricter): 1.2 x 0.6 = 0.72; a product above 1 is capped at a risk of 1
    assert AccountRule.from_config(AccountsConfig(rule_min_risk_fraction=1.2), 0.6) == AccountRule(2, 30,
                                                                                                   pytest.approx(0.72))
    assert AccountRule.from_config(AccountsConfig(rule_min_risk_fraction=2.0), 0.6) == AccountRule(2, 30, 1.0)
    with pytest.raises(ValueError):
        AccountsConfig(rule_min_risk_fraction=2.5)
    with pytest.raises(ValueError, match="not both"):
        AccountsConfig(rule_min_risk=0.2, rule_min_risk_fraction=0.9)


def test_crossing_is_reaching_the_minimum_once() -> None:
    """At the minimum counts (>=, as `level_for` counts the review threshold); above it, no second time."""
    assert crossed(None, 0.3, 0.3) and crossed(0.29, 0.3, 0.3)
    assert not crossed(0.3, 0.4, 0.3) and not crossed(None, 0.29, 0.3) and not crossed(0.1, 0.2, 0.3)
