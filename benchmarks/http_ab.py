"""A/B of server settings on the HTTP append path: `python benchmarks/http_ab.py --b engine.intra_op_spinning=true`.

Each round starts a `groomguard serve` process per side (A: the defaults plus `--a` settings, B: plus
`--b`), measures the engine's batch-1 rate in this process, then `--clients` threads appending one
message per request, and reads the server's CPU time (user + system, psutil) over the run. Rounds
alternate A and B so a drifting machine shows up as spread, not as a difference. Prints one line per
side and round, and writes them as JSON (`--out`).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/http_ab.py --b engine.intra_op_spinning=true --rounds 3
    PYTHONPATH=$PWD .venv/bin/python benchmarks/http_ab.py --bundle /tmp/tiny   # request path alone
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.suite_engine import Ctx, batch1_rate, load_conversations, sample_windows
from benchmarks.suite_http import append_clients, serving
from groomguard.bundle import Bundle


def server_process(port_url: str) -> psutil.Process:
    port = int(port_url.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    raise RuntimeError(f"no process listens on {port_url}")


def side(args: argparse.Namespace, label: str, extra: list[str], convs: list[Any], windows: list[list[int]],
         round_: int) -> dict[str, Any]:
    b1 = batch1_rate(Ctx(args.bundle, args.threads, 3.0, ["CPUExecutionProvider"]), args.variant, windows)
    with serving(args.bundle, args.variant, args.threads, tuple(extra)) as (url, headers):
        append_clients(url, headers, args.clients, 5, convs, tag="warm-")
        proc = server_process(url)
        cpu0, t0 = proc.cpu_times(), time.perf_counter()
        h = append_clients(url, headers, args.clients, args.requests, convs, tag=f"r{round_}-")
        cpu1, wall = proc.cpu_times(), time.perf_counter() - t0
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    row = {"side": label, "round": round_, "settings": extra, "engine_batch1": b1, "req_per_s": h["req_per_s"],
           "vs_engine_batch1": h["req_per_s"] / b1, "p50_ms": h["p50_ms"], "errors": h["errors"],
           "server_cores": used / wall, "server_core_ms_per_request": 1000 * used / h["requests"]}
    print(f"{label} round {round_}: {h['req_per_s']:.1f} req/s ({100 * row['vs_engine_batch1']:.0f} % of engine "
          f"batch 1 {b1:.1f}), server {row['server_cores']:.2f} cores, "
          f"{row['server_core_ms_per_request']:.1f} core-ms/request, errors {h['errors']}", flush=True)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"))
    ap.add_argument("--a", action="append", default=[], metavar="KEY=VALUE", help="server setting for side A")
    ap.add_argument("--b", action="append", default=[], metavar="KEY=VALUE", help="server setting for side B")
    ap.add_argument("--variant", default="auto", help="engine.variant of both sides (default: what serve resolves)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=50, help="per client and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=Path("reports/http-ab.json"))
    args = ap.parse_args()
    bundle = Bundle.load(args.bundle)
    convs = load_conversations(args.data, 200, 0)
    windows = sample_windows(bundle, convs, 320, 0)
    rows = [side(args, name, extra, convs, windows, r)
            for r in range(args.rounds) for name, extra in (("A", args.a), ("B", args.b))]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
