"""Process-local cache of conversation snapshots: an append to a conversation this process wrote
last plans from memory instead of a database read.

Why it is safe: a cached snapshot is only a *plan*. The commit still locks the conversation row and
checks that its `version` and `created_at` are the ones the snapshot was taken at (every accepted
message bumps the version; a conversation purged and re-created gets a new `created_at`), so a
snapshot made stale by another replica, a concurrent request or retention fails that check and the
append re-plans from the database, exactly as a stale database read does. The cache only removes the
read transaction (three queries and a worker-thread hand-off) from the hot path.

Idempotency without the receipts read: a request carrying a `message_id` of one of the cached
messages (the newest window's, where client retries land) is planned from the database, which
answers it as a replay. An older duplicate is caught by the receipts table's primary key at commit
(an IntegrityError: the append re-runs under the row lock and answers the replay).

What is kept: the counters, the role map and the token ids of the messages of the newest window
only (a later window never starts earlier: `Windower.window_start`), as int32 arrays, about 1 KB per
conversation; least recently used conversations are dropped beyond `capacity`.
"""

from __future__ import annotations

import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence

from groomguard.serving.store.conversations import Snapshot, TailIds
from groomguard.windowing import Windower


def newest_window_tail(windower: Windower, tail: Sequence[TailIds]) -> list[TailIds]:
    """`tail` (oldest first, ids fresh) cut to the messages of the window ending at its last message,
    the ids as int32 arrays (a third of a list's memory)."""
    if not tail:
        return []
    start = windower.window_start([len(t.token_ids or ()) for t in tail], len(tail) - 1)
    return [TailIds(t.seq, array("i", t.token_ids or ()), message_id=t.message_id) for t in tail[start:]]


def knows_any(snap: Snapshot, message_ids: Sequence[str | None]) -> bool:
    """Whether one of `message_ids` is among the snapshot's (cached) messages."""
    recent = {t.message_id for t in snap.tail if t.message_id is not None}
    return any(m in recent for m in message_ids if m is not None)


class SnapshotCache:
    """Thread-safe LRU of snapshots (receipts empty, tail cut to the newest window) by conversation id.

    `capacity` 0 disables it. An entry unused for `idle_s` is dropped (the server sets this below
    the retention period, so no message's token ids outlive its purge in memory). Callers treat the
    snapshots as read-only."""

    def __init__(self, capacity: int, idle_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.idle_s = idle_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Snapshot]] = OrderedDict()  # oldest use first

    def get(self, conversation_id: str) -> Snapshot | None:
        if self.capacity <= 0:
            return None
        now = self._clock()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(conversation_id)
            if entry is None:
                return None
            self._entries[conversation_id] = (now, entry[1])
            self._entries.move_to_end(conversation_id)
            return entry[1]

    def put(self, conversation_id: str, snap: Snapshot) -> None:
        if self.capacity <= 0:
            return
        now = self._clock()
        with self._lock:
            old = self._entries.get(conversation_id)
            if old is not None and old[1].version > snap.version and old[1].created_at == snap.created_at:
                return  # a concurrent commit of this process already cached a newer state
            self._entries[conversation_id] = (now, snap)
            self._entries.move_to_end(conversation_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            self._expire(now)

    def discard(self, conversation_id: str) -> None:
        with self._lock:
            self._entries.pop(conversation_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire(self, now: float) -> None:
        while self._entries:
            used, _ = next(iter(self._entries.values()))
            if now - used <= self.idle_s:
                return
            self._entries.popitem(last=False)
