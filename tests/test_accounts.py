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

from sqlalchemy import event, func, select

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.retention import purge
from groomguard.serving.review import ReviewService
from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig, Store
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
            scorer: Any = None) -> ReviewService:
    return ReviewService.build(store, scorer or KeywordScorer(windower), windower, TH, "test@1",
                               StateConfig(tail_messages=1000), RetentionConfig(),
                               accounts=AccountsConfig(rule_enabled=enabled, rule_conversations=rule, rule_days=30))


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
