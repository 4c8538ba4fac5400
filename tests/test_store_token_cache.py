"""The flat append path on real SQLite and PostgreSQL: token ids cached in the tail, only new messages
encoded, windows equal to the contract's batch windows, stale caches re-encoded and written back.

The expected window is always `Windower.newest_window` over every message so far (no cache), so a
wrong cached id, a lost role, a stale key served as fresh or a too-short tail read would differ.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from sqlalchemy import select, update

from groomguard.normalise import NormalisationConfig
from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, Store
from groomguard.serving.store import conversations as conv_db
from groomguard.serving.store.orm import TailMessageRow
from groomguard.serving.tail_check import max_messages_per_window
from groomguard.windowing import WindowConfig, Windower

pytest_plugins = ["tests.support.store_fixtures"]
WORDS = ["hi", "synthetic", "hello", "school", "ok", "later", "d1sc0rd", "ｇａｍｅ", "café", "?!", "12", "home"]


class CountingWindower(Windower):
    """The real contract windower, counting how many messages it is asked to encode."""

    encoded = 0

    def encode_messages(self, messages: Sequence[Message], roles: Mapping[str, str] | None = None) -> list[list[int]]:
        self.encoded += len(messages)
        return super().encode_messages(messages, roles)


class RecordingScorer:
    def __init__(self) -> None:
        self.windows: list[list[int]] = []

    def __call__(self, windows: list[list[int]]) -> list[float]:
        self.windows.extend(windows)
        return [0.1 for _ in windows]


def make(store: Store, windower: Windower, tail: int) -> tuple[ReviewService, RecordingScorer]:
    scorer = RecordingScorer()
    return ReviewService.build(store, scorer, windower, Thresholds(review=0.5, high=0.8), "test@1",
                               StateConfig(tail_messages=tail), RetentionConfig()), scorer


def random_messages(rng: random.Random, n: int, start: int = 0) -> list[Message]:
    out = []
    for i in range(start, start + n):
        length = rng.choice([1, 2, 4, 7]) if rng.random() < 0.9 else rng.randint(30, 70)  # some overflow a window
        out.append(Message(author=f"user{rng.randrange(3)}", text=" ".join(rng.choice(WORDS) for _ in range(length)),
                           message_id=f"m{i}"))
    return out


def test_appends_encode_only_new_messages_and_match_batch_windows(store: Store, windower: Windower) -> None:
    w = CountingWindower(windower.tokenizer, WindowConfig(max_length=64))
    svc, scorer = make(store, w, tail=80)
    rng = random.Random(7)
    sent: list[Message] = []
    for step in range(120):
        new = random_messages(rng, rng.choice([1, 1, 1, 3]), len(sent))
        before = w.encoded
        svc.append_messages("c", new)
        sent += new
        assert w.encoded - before == len(new), f"append {step} re-encoded old messages"
        assert scorer.windows[-1] == w.newest_window(sent).input_ids, f"append {step}"
    limit = max_messages_per_window(w) - 1  # the newest message of a window is always a new one
    assert limit < 80 < len(sent)
    with store.read() as s:
        snap = conv_db.read_snapshot(s, "c", [], svc.appends.window_limit(), w.ids_key)
        keys = set(s.scalars(select(TailMessageRow.ids_key)))
    assert len(snap.tail) == limit, "an append reads only the rows one window can hold"
    assert all(t.token_ids is not None and not t.text for t in snap.tail), "cached rows are read without text"
    assert keys == {w.ids_key}


def test_stale_or_missing_ids_are_reencoded_once_and_written_back(store: Store, windower: Windower) -> None:
    old = Windower(windower.tokenizer, WindowConfig(max_length=64))
    svc, _ = make(store, old, tail=40)
    rng = random.Random(3)
    sent = random_messages(rng, 50)  # more than the 40-row tail and the 31 rows a window can hold
    for m in sent:
        svc.append_messages("c", [m])
    with store.write() as s:  # rows from before the cache existed: no ids at all
        s.execute(update(TailMessageRow).where(TailMessageRow.seq < 30).values(ids_key=None, token_ids=None))
    # A bundle with another normalisation (v1, no de-obfuscation) produces other ids for "d1sc0rd".
    new_norm = WindowConfig(max_length=64, normalisation=NormalisationConfig(version=1, deobfuscate=False))
    w = CountingWindower(windower.tokenizer, new_norm)
    assert w.ids_key != old.ids_key
    svc2, scorer = make(store, w, tail=40)
    nxt = random_messages(rng, 1, 50)
    svc2.append_messages("c", nxt)
    sent += nxt
    limit = svc2.appends.window_limit()
    assert limit == 30 and w.encoded == limit + 1, "the stale rows a window can use, plus the new message"
    assert scorer.windows[-1] == w.newest_window(sent).input_ids
    with store.read() as s:
        rows = list(s.scalars(select(TailMessageRow).where(TailMessageRow.conversation_id == "c")
                              .order_by(TailMessageRow.seq)))
    fresh = w.encode_messages(sent)  # the contract's ids for every message under the new key
    recached = [r for r in rows if r.ids_key == w.ids_key]
    assert [r.seq for r in recached] == list(range(len(sent) - 1 - limit, len(sent)))
    assert all(r.token_ids == fresh[r.seq] for r in recached)
    assert any(fresh[r.seq] != old.encode_messages(sent)[r.seq] for r in recached), "the keys must matter here"
    w.encoded = 0
    more = random_messages(rng, 1, 51)
    svc2.append_messages("c", more)
    sent += more
    assert w.encoded == 1 and scorer.windows[-1] == w.newest_window(sent).input_ids
