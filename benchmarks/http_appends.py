"""HTTP appends at 1 and 8 clients against a real `groomguard serve` of this checkout; one JSON on stdout.

Why: the A/B guard of a refactor of the append path (issue 24) needs the served append rate and
latency with enough requests to see a few per cent, and `make bench --quick` sends too few. Meant for
`benchmarks/code_ab.py`, which runs it in two checkouts, rounds alternated, with one bundle:

    .venv/bin/python -m benchmarks.code_ab --a /path/to/base --b . --rounds 4 --bundle models/bundles/demo \\
        -- benchmarks/http_appends.py --data $PWD/data/demo/test.jsonl

Each client appends one message at a time to its own conversation (replayed from the longer test
conversations), after a warm-up round; every message is scored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.suite_http import append_clients, serving
from groomguard.jsonl import iter_jsonl


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="labelled JSONL to replay (conversations of 30+ messages)")
    ap.add_argument("--per-client", type=int, default=60, help="appends per client at 8 clients (100 at 1 client)")
    args = ap.parse_args(argv)
    convs = [c for c in iter_jsonl(args.data) if len(c.messages) >= 30][:16]
    if not convs:
        raise SystemExit(f"error: {args.data}: no conversation of 30 or more messages")
    out = {}
    with serving(args.bundle, "auto", 0) as (url, headers):
        append_clients(url, headers, 8, 10, convs, tag="warm")
        for clients, per in ((1, 100), (8, args.per_client)):
            r = append_clients(url, headers, clients, per, convs, tag=f"r{clients}")
            out[f"c{clients}"] = {k: r[k] for k in ("req_per_s", "p50_ms", "p99_ms", "errors")}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
