"""Which messages moved a case's score most: leave-one-message-out on the newest window.

Computed on demand for cases only (one scorer call of |window| + 1 windows), never on the append
path. The delta of a message is risk(window) - risk(window re-built without that message); when a
message is removed an older one may slide into the window, exactly as the model would see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from groomguard.schema import Message
from groomguard.serving.review.views import MessageInfluence
from groomguard.windowing import Windower, assign_roles

# Token-id windows in, one risk per window out (the micro-batcher's `score`, or an engine in tests).
WindowScorer = Callable[[list[list[int]]], list[float]]


@dataclass(frozen=True)
class InfluenceInput:
    seq: int
    message_id: str | None
    author: str
    text: str


def message_influence(windower: Windower, scorer: WindowScorer, messages: Sequence[InfluenceInput],
                      roles: dict[str, str], top_k: int) -> list[MessageInfluence]:
    """Top-k messages of the newest window by how much removing them lowers the risk."""
    if not messages:
        return []
    msgs = [Message(author=m.author, text=m.text) for m in messages]
    roles = assign_roles(msgs, roles)
    ids = windower.encode_messages(msgs, roles)
    end = len(ids) - 1
    start = windower.window_start([len(m) for m in ids], end)
    variants = [windower.window_ids(ids, end)]
    for j in range(start, end + 1):
        rest = ids[:j] + ids[j + 1 :]
        variants.append(windower.window_ids(rest, len(rest) - 1) if rest else windower.window_ids([[]], 0))
    risks = [float(r) for r in scorer(variants)]
    base = risks[0]
    scored = [
        MessageInfluence(seq=messages[j].seq, message_id=messages[j].message_id, delta=base - risks[1 + j - start])
        for j in range(start, end + 1)
    ]
    scored.sort(key=lambda m: m.delta, reverse=True)
    return scored[:top_k]
