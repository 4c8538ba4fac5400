"""What an append costs besides inference, at message 10, 100 and 1,000 of one conversation.

The review service (SQLite in a temporary directory, the bundle's windower, thresholds above 1 so no
case opens) with a constant scorer in place of the model: what is left is reading the snapshot,
planning (normalise + tokenise the new message, assemble the window from cached ids) and the
commit. If anything on the hot path grew with the conversation, it would show here without the
inference noise that hides it in `make bench`.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/append_overhead.py --samples 21
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.suite_engine import load_conversations
from benchmarks.suite_http import _message
from groomguard.bundle import Bundle
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.settings import load_serve_config
from groomguard.serving.store import open_store


def message(conv: Conversation, i: int) -> Message:
    """Message i of a cyclic replay of `conv`, as the HTTP benchmark sends it."""
    return Message(**_message(conv, i))


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"))
    ap.add_argument("--samples", type=int, default=21, help="timed appends just before each mark")
    args = ap.parse_args()
    bundle = Bundle.load(args.bundle)
    conv = max(load_conversations(args.data, 200, 0), key=lambda c: len(c.messages))
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_serve_config(None, [f"store.url=sqlite:///{tmp}/b.db", "state.tail_messages=128",
                                       "limits.max_messages_per_append=100"])
        store = open_store(cfg.store)
        svc = ReviewService.build(store, lambda ws: [0.1 for _ in ws], bundle.windower(),
                                  Thresholds(review=1.0, high=1.0), "constant", cfg.state, cfg.retention, cfg.limits)
        have = 0
        for mark in (10, 100, 1000):
            while have < mark - args.samples:
                n = min(100, mark - args.samples - have)
                svc.append_messages("c", [message(conv, have + k) for k in range(n)])
                have += n
            times = []
            for _ in range(args.samples):
                t0 = time.perf_counter()
                svc.append_messages("c", [message(conv, have)])
                times.append(time.perf_counter() - t0)
                have += 1
            out[str(mark)] = {"median_ms": round(1000 * statistics.median(times), 3),
                              "first_message": have - args.samples, "last_message": have - 1}
        store.close()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
