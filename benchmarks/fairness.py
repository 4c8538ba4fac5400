"""Append latency with and without a maximal `/v1/score` running (issue 10, item 1).

Starts the app in-process (FastAPI TestClient, SQLite in a temporary directory, real API key),
streams single-message appends to one conversation, first alone, then while one request of
`limits.max_windows_per_request` windows is scored. Prints a JSON line per phase with append
p50/p99 (ms). By default the random-weight tiny bundle with `--per-window-ms` of added model time
per window (sleep, outside the GIL, like ONNX Runtime) so the bulk request lasts seconds; pass
`--bundle models/bundles/demo --per-window-ms 0` for the real model. Synthetic text only; not part
of `make test` (the pinned bound is tests/test_api_fairness.py).

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD .venv/bin/python benchmarks/fairness.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=None, help="model bundle (default: build the tiny one)")
    parser.add_argument("--per-window-ms", type=float, default=5.0, help="added model time per window")
    parser.add_argument("--min-appends", type=int, default=100, help="appends timed per phase (at least)")
    args = parser.parse_args()

    from benchmarks.support.fairness_load import appends_during_bulk, percentile
    from benchmarks.support.server import make_config, make_keys, running_app
    from benchmarks.support.tiny_bundle import build_tiny_bundle
    from groomguard.serving.engine import ScoringEngine

    if args.per_window_ms > 0:
        real = ScoringEngine.infer_batch

        def slowed(self: ScoringEngine, windows: Sequence[Sequence[int]]) -> Any:
            out = real(self, windows)
            time.sleep(args.per_window_ms / 1000.0 * len(windows))
            return out

        ScoringEngine.infer_batch = slowed  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as tmp:
        bundle = args.bundle or build_tiny_bundle(Path(tmp) / "tiny")
        cfg = make_config(Path(tmp) / "gg.db")
        keys = make_keys(cfg)
        windows = cfg.limits.max_windows_per_request
        with running_app(cfg, bundle) as client:
            for phase, bulk in (("appends alone", None), (f"appends during a {windows}-window /v1/score", windows)):
                load = appends_during_bulk(client, keys["score"], bulk, args.min_appends)
                print(json.dumps({"phase": phase, "appends": len(load.append_s),
                                  "p50_ms": round(percentile(load.append_s, 50) * 1000, 1),
                                  "p99_ms": round(percentile(load.append_s, 99) * 1000, 1),
                                  "bulk_status": load.bulk_status, "bulk_s": round(load.bulk_s, 2),
                                  "bundle": str(args.bundle or "tiny"), "per_window_ms": args.per_window_ms}))


if __name__ == "__main__":
    main()
