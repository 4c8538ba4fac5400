"""Indicative latency of single-message appends through the full HTTP stack (was a printing test).

Builds the random-weight tiny bundle, starts the app in-process (FastAPI TestClient, SQLite in a
temporary directory, real API key) and times `n` single-message appends to one conversation.
Prints a JSON summary (p50/p90 in ms). Synthetic text only. Not part of `make test`: timings on a
shared 2-core machine are not assertions.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/append_latency.py --n 40
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="appends to time")
    args = parser.parse_args()

    from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
    from benchmarks.support.tiny_bundle import build_tiny_bundle

    with tempfile.TemporaryDirectory() as tmp:
        bundle = build_tiny_bundle(Path(tmp) / "tiny")
        cfg = make_config(Path(tmp) / "gg.db", "thresholds={review: 0.0, high: 1.0}")
        keys = make_keys(cfg)
        times: list[float] = []
        with running_app(cfg, bundle) as client:
            for i in range(args.n):
                t0 = time.perf_counter()
                r = client.post("/v1/conversations/latency/messages",
                                json={"messages": [msg("a", f"ok {i}", f"l-{i}")]}, headers=auth(keys["score"]))
                times.append(time.perf_counter() - t0)
                r.raise_for_status()
    times.sort()
    print(json.dumps({"appends": args.n, "p50_ms": round(times[len(times) // 2] * 1000, 1),
                      "p90_ms": round(times[int(len(times) * 0.9)] * 1000, 1),
                      "setup": "tiny bundle, TestClient, SQLite"}))


if __name__ == "__main__":
    main()
