"""Concurrent appends to ONE conversation from threads, separate engines (replicas) and processes.

Every append wants to open a case (the scorer says 0.9 for everything), the worst case for the
one-open-case rule. Runs on real SQLite (WAL) and real PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import AppendOutcome, ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, Store, StoreConfig, open_store
from groomguard.serving.store.orm import CaseRow, ConversationRow, ReceiptRow, TailMessageRow
from groomguard.windowing import Windower
from tests.support.store import process_appender

TAIL = 500
TH = Thresholds(review=0.5, high=0.8)

pytest_plugins = ["tests.support.store_fixtures"]


def slow_risky(windows: list[list[int]]) -> list[float]:
    time.sleep(0.003)  # widens the gap between reading state and committing
    return [0.9 for _ in windows]


def make_service(store: Store, windower: Windower) -> ReviewService:
    return ReviewService.build(store, slow_risky, windower, TH, "test@1", StateConfig(tail_messages=TAIL),
                               RetentionConfig())


def assert_consistent(store: Store, conversation_id: str, expected: int, outcomes: list[AppendOutcome],
                      processes_may_open: bool = False) -> None:
    with store.read() as s:
        conv = s.get(ConversationRow, conversation_id)
        assert conv is not None and conv.message_count == expected
        tail_seqs = sorted(s.scalars(
            select(TailMessageRow.seq).where(TailMessageRow.conversation_id == conversation_id)))
        assert tail_seqs == list(range(expected)), "no lost or doubled positions"
        assert s.scalar(select(func.count()).select_from(ReceiptRow)) == expected
        cases = list(s.scalars(select(CaseRow).where(CaseRow.conversation_id == conversation_id)))
    assert len(cases) == 1 and cases[0].status == "open"
    assert {o.case_id for o in outcomes} == {cases[0].case_id}
    opened = sum(o.case_opened for o in outcomes)
    assert opened == 1 or (processes_may_open and opened == 0)


def run_threads(services: list[ReviewService], conversation_id: str, per_thread: int) -> list[AppendOutcome]:
    def work(k: int) -> list[AppendOutcome]:
        svc = services[k % len(services)]
        return [svc.append_messages(conversation_id, [Message(author=f"user{k}", text=f"synthetic hello {i}",
                                                              message_id=f"t{k}-{i}")]) for i in range(per_thread)]

    n = 2 * len(services) if len(services) > 1 else 6
    with ThreadPoolExecutor(n) as pool:
        return [o for chunk in pool.map(work, range(n)) for o in chunk]


def test_threads_on_one_conversation(db_url: str, windower: Windower) -> None:
    store = open_store(StoreConfig(url=db_url, pool_size=8))
    try:
        outcomes = run_threads([make_service(store, windower)], "conc-1", per_thread=5)
        assert_consistent(store, "conc-1", 30, outcomes)
    finally:
        store.close()


def test_replicas_and_processes_on_one_conversation(db_url: str, windower: Windower) -> None:
    """Three engines (replicas in one process) plus two OS processes append concurrently."""
    stores = [open_store(StoreConfig(url=db_url)) for _ in range(3)]
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(2) as pool:
            procs = [pool.apply_async(process_appender, (db_url, "conc-2", w, 6, TAIL)) for w in range(2)]
            outcomes = run_threads([make_service(s, windower) for s in stores], "conc-2", per_thread=3)
            assert [p.get(timeout=120) for p in procs] == [6, 6]
        # 6 threads x 3 + 2 processes x 6; the processes' outcomes are checked through the database
        assert_consistent(stores[0], "conc-2", 18 + 12, outcomes, processes_may_open=True)
    finally:
        for s in stores:
            s.close()


def test_concurrent_duplicates_are_accepted_once(db_url: str, windower: Windower) -> None:
    store = open_store(StoreConfig(url=db_url, pool_size=8))
    svc = make_service(store, windower)
    batch = [Message(author="user_a", text=f"synthetic hello {i}", message_id=f"d-{i}") for i in range(5)]
    results: list[AppendOutcome] = []
    lock = threading.Lock()

    def send() -> None:
        out = svc.append_messages("conc-3", batch)
        with lock:
            results.append(out)

    try:
        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.accepted for r in results) == 5
        assert sum(r.duplicates for r in results) == 25
        assert len({r.case_id for r in results}) == 1
        with store.read() as s:
            conv = s.get(ConversationRow, "conc-3")
            assert conv is not None and conv.message_count == 5
    finally:
        store.close()
