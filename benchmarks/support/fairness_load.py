"""Appends timed while a maximal `/v1/score` runs (shared by tests/test_api_fairness.py and
benchmarks/fairness.py). Synthetic, harmless text only."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from benchmarks.support.server import auth, msg

# ~16 words: at the tiny bundle's 64 tokens a window holds only a few of these, like real chat.
FILLER = "did you finish the maths homework about fractions and the map of rivers for tomorrow morning"


def maximal_score_body(windows: int) -> dict[str, object]:
    """One conversation of `windows` messages: the most windows one request may cost."""
    return {"conversations": [{"conversation_id": "bulk-1", "messages": [
        msg("a" if i % 2 else "b", f"{FILLER} {i}") for i in range(windows)]}]}


@dataclass
class LoadResult:
    append_s: list[float] = field(default_factory=list)  # appends completed while the bulk request ran
    bulk_status: int | None = None
    bulk_s: float = 0.0


def appends_during_bulk(client: TestClient, key: str, windows: int | None, min_appends: int) -> LoadResult:
    """Stream single-message appends (one conversation, sequential, as a chat platform does) until
    the bulk request has finished and at least `min_appends` were timed. `windows=None`: no bulk."""
    out = LoadResult()
    done = threading.Event()

    def bulk() -> None:
        t0 = time.perf_counter()
        try:
            r = client.post("/v1/score", json=maximal_score_body(windows or 0), headers=auth(key))
            out.bulk_status = r.status_code
        finally:
            out.bulk_s = time.perf_counter() - t0
            done.set()

    worker = None
    if windows:
        worker = threading.Thread(target=bulk, daemon=True)
        worker.start()
    else:
        done.set()
    i = 0
    while not done.is_set() or len(out.append_s) < min_appends:
        t0 = time.perf_counter()
        r = client.post("/v1/conversations/stream-1/messages",
                        json={"messages": [msg("a" if i % 2 else "b", f"see you at practice {i}", f"s-{i}")]},
                        headers=auth(key))
        elapsed = time.perf_counter() - t0
        if r.status_code != 200:
            raise AssertionError(f"append {i}: {r.status_code} {r.text}")
        if windows is None or not done.is_set() or len(out.append_s) < min_appends:
            out.append_s.append(elapsed)
        i += 1
    if worker is not None:
        worker.join(120)
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
