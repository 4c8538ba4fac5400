"""The append path's snapshot cache (serving/review/snapshot_cache.py) on real SQLite and PostgreSQL:
an append to a conversation this process wrote last reads nothing, and a cached snapshot made stale
by another replica or by a purge never decides what is scored or stored.

All chat text is synthetic and benign; "secret" stands for a secrecy request (the scorer's trigger).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.review.snapshot_cache import SnapshotCache, newest_window_tail
from groomguard.serving.store import RetentionConfig, StateConfig, Store
from groomguard.serving.store import conversations as conv_db
from groomguard.serving.store.orm import ConversationRow, TailMessageRow
from groomguard.windowing import Windower
from tests.support.store import KeywordScorer

pytest_plugins = ["tests.support.store_fixtures"]
TH = Thresholds(review=0.5, high=0.8)


def msg(i: int, text: str = "synthetic hello", author: str = "user_a") -> Message:
    return Message(author=author, text=f"{text} {i}", message_id=f"m-{i}")


class RecordingScorer(KeywordScorer):
    """Keeps the windows it scored, to check what a (possibly cached) plan assembled."""

    def __init__(self, windower: Windower) -> None:
        super().__init__(windower)
        self.windows: list[list[int]] = []

    def __call__(self, windows: list[list[int]]) -> list[float]:
        self.windows.extend(windows)
        return super().__call__(windows)


def replica(store: Store, windower: Windower, cache: int = 100,
            tail: int = 64) -> tuple[ReviewService, RecordingScorer]:
    scorer = RecordingScorer(windower)
    state = StateConfig(tail_messages=tail, snapshot_cache_conversations=cache)
    return ReviewService.build(store, scorer, windower, TH, "test@1", state, RetentionConfig()), scorer


@contextmanager
def counting_reads(store: Store) -> Iterator[list[int]]:
    """Counts the store's read transactions (the snapshot read an uncached append makes)."""
    calls = [0]
    real = store.read

    @contextmanager
    def read() -> Iterator[Any]:
        calls[0] += 1
        with real() as s:
            yield s

    store.read = read  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        store.read = real  # type: ignore[method-assign]


def expected_window(windower: Windower, messages: list[Message]) -> list[int]:
    """The batch path's window ending at the last message, computed from the texts."""
    return windower.newest_window(messages).input_ids


@pytest.mark.parametrize("cache, reads", [(100, 0), (0, 1)])
def test_an_append_after_this_process_wrote_reads_nothing(store: Store, windower: Windower, cache: int,
                                                          reads: int) -> None:
    svc, scorer = replica(store, windower, cache=cache)
    svc.append_messages("c-1", [msg(1), msg(2, author="user_b")])
    with counting_reads(store) as calls:
        out = svc.append_messages("c-1", [msg(3)])
    assert calls[0] == reads
    assert out.accepted == 1
    # the cached plan scores exactly the window the batch path builds from the texts
    assert scorer.windows[-1] == expected_window(windower, [msg(1), msg(2, author="user_b"), msg(3)])


def test_a_snapshot_stale_after_another_replica_wrote_is_replanned(store: Store, windower: Windower) -> None:
    a, a_scorer = replica(store, windower)
    b, _ = replica(store, windower)
    a.append_messages("c-2", [msg(1)])
    b.append_messages("c-2", [msg(2, "please keep this secret", author="user_b")])  # a's cache is now one behind
    out = a.append_messages("c-2", [msg(3)])
    history = [msg(1), msg(2, "please keep this secret", author="user_b"), msg(3)]
    assert a_scorer.windows[-1] == expected_window(windower, history)  # b's message is in a's window
    assert out.risk == pytest.approx(0.9) and out.case_id is not None
    with store.read() as s:
        row = s.get(ConversationRow, "c-2")
        seqs = sorted(s.scalars(select(TailMessageRow.seq).where(TailMessageRow.conversation_id == "c-2")))
    assert row is not None and (row.message_count, row.version) == (3, 3)
    assert seqs == [0, 1, 2]


def test_a_purged_and_recreated_conversation_is_not_planned_from_the_old_snapshot(
        store: Store, windower: Windower) -> None:
    a, a_scorer = replica(store, windower)
    b, _ = replica(store, windower)
    a.append_messages("c-3", [msg(1, "please keep this secret")])  # a caches version 1
    with store.write() as s:  # retention purges it ...
        conv_db.delete_conversations(s, ["c-3"])
    b.append_messages("c-3", [msg(7, author="user_b")])  # ... and it comes back, at version 1 again
    out = a.append_messages("c-3", [msg(8)])
    # only the new incarnation's messages: the purged secrecy message must not reach the window
    assert a_scorer.windows[-1] == expected_window(windower, [msg(7, author="user_b"), msg(8)])
    assert out.risk == pytest.approx(0.1)


def test_a_retry_of_a_cached_message_is_answered_from_the_store(store: Store, windower: Windower) -> None:
    svc, scorer = replica(store, windower)
    first = svc.append_messages("c-4", [msg(1, "please keep this secret")])
    calls = len(scorer.calls)
    again = svc.append_messages("c-4", [msg(1, "please keep this secret")])
    assert (again.accepted, again.duplicates, again.case_id) == (0, 1, first.case_id)
    assert len(scorer.calls) == calls, "a retry of a cached message must not score"


def test_the_cached_tail_gives_the_same_window_as_the_whole_tail(windower: Windower) -> None:
    texts = [f"synthetic message number {i} " + "word " * (i % 7) for i in range(40)]
    ids = windower.encode_messages([Message(author="user_a", text=t) for t in texts], {"user_a": "user"})
    tail = [conv_db.TailIds(i, m, message_id=f"m-{i}") for i, m in enumerate(ids)]
    cut = newest_window_tail(windower, tail)
    assert len(cut) < len(tail)  # 40 messages do not fit one window: something was dropped
    new = windower.encode_messages([Message(author="user_a", text="synthetic next")], {"user_a": "user"})
    full = windower.assemble_newest([t.token_ids or [] for t in tail] + new)
    assert windower.assemble_newest([t.token_ids or [] for t in cut] + new) == full
    assert [t.seq for t in cut] == list(range(40 - len(cut), 40))  # the newest ones, in order


def snap(version: int, created: int = 0) -> conv_db.Snapshot:
    from datetime import datetime, timezone

    return conv_db.Snapshot("c", version=version, created_at=datetime(2026, 1, 1, second=created, tzinfo=timezone.utc))


def test_cache_is_lru_bounded_expires_idle_entries_and_keeps_the_newest_version() -> None:
    now = [0.0]
    cache = SnapshotCache(capacity=2, idle_s=10, clock=lambda: now[0])
    cache.put("a", snap(1))
    cache.put("b", snap(1))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", snap(1))
    assert cache.get("b") is None and len(cache) == 2  # b was the least recently used
    cache.put("a", snap(5))
    cache.put("a", snap(4))  # a slower concurrent commit of an older state
    got = cache.get("a")
    assert got is not None and got.version == 5
    cache.put("a", snap(1, created=9))  # a re-created conversation replaces it whatever the version
    got = cache.get("a")
    assert got is not None and got.version == 1
    now[0] = 10.5
    assert cache.get("a") is None and cache.get("c") is None  # unused for over idle_s
    assert SnapshotCache(capacity=0).get("a") is None
