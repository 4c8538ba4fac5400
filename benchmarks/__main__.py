"""`python -m benchmarks` / `make bench`: the engine, its variants, the HTTP path and the naive
`transformers` pipeline measured side by side in ONE run, on the same windows and machine.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks --bundle models/bundles/demo \
        --checkpoint var/train/demo/best --data data/demo/test.jsonl --doc docs/performance.md
    ... --quick          # under 3 minutes: fewer windows, shorter timings, fewer HTTP requests
    ... --backfill 2000  # also 2,000 synthetic conversations: local engine vs Ray (benchmarks/backfill_ray.py)

Writes a JSON file (`--out`, default reports/bench.json) and, with `--doc`, replaces the generated
table between the `bench:start`/`bench:end` markers of that Markdown file. Numbers are windows/s
(or requests/s) on this machine; compare ratios within one run, not across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.report import render_markdown, replace_section
from benchmarks.suite_engine import (
    Ctx,
    batch1_rate,
    engine_for,
    engine_rows,
    load_conversations,
    naive_pipeline_rows,
    sample_windows,
    tokenise_share,
)
from benchmarks.suite_service import service_append_latency
from groomguard.bundle import Bundle
from groomguard.errors import GroomguardError
from groomguard.schema import Conversation
from groomguard.serving.settings import load_serve_config


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--checkpoint", type=Path, default=Path("var/train/demo/best"),
                    help="fine-tuned checkpoint for the naive pipeline (a tiny random BERT when absent)")
    ap.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"),
                    help="labelled JSONL the windows come from (synthetic filler chat when absent)")
    ap.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    ap.add_argument("--doc", type=Path, default=None, help="Markdown file whose bench section is regenerated")
    ap.add_argument("--quick", action="store_true", help="small sizes: the whole run in under 3 minutes")
    ap.add_argument("--threads", type=int, default=0, help="ORT intra-op and torch threads (0 = all cores)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="repetitions of what the ratios are made of (naive best, default variant at batch 1 / "
                         "best, HTTP at 8 clients); the ratios use medians (1 with --quick)")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    ap.add_argument("--no-triton", action="store_true", help="skip Triton (always skipped with --quick)")
    ap.add_argument("--backfill", type=int, default=0, metavar="N",
                    help="also score N synthetic conversations with the local engine and with Ray (0 = skip)")
    return ap.parse_args(argv)


def window_tokens_at(bundle: Bundle, conv: Conversation, marks: tuple[int, ...]) -> dict[str, int]:
    """Tokens in the newest window at message N of `conv` replayed cyclically (as the latency runs do)."""
    windower = bundle.windower()
    msgs = [conv.messages[i % len(conv.messages)] for i in range(max(marks))]
    return {str(n): len(windower.prefix_windows(conv.model_copy(update={"messages": msgs[:n]}))[-1].input_ids)
            for n in marks}


def machine(threads: int) -> dict[str, Any]:
    import onnxruntime as ort

    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads or os.cpu_count(), "load_avg_1m": load,
            "onnxruntime": ort.__version__, "providers": ort.get_available_providers(),
            "python": sys.version.split()[0],
            "gpu": "none lent" if "CUDAExecutionProvider" not in ort.get_available_providers() else "CUDA build"}


def run(args: argparse.Namespace) -> dict[str, Any]:
    t_start = time.perf_counter()
    bundle = Bundle.load(args.bundle)
    threads = args.threads or os.cpu_count() or 1
    n_conv, n_win, n_bucket, n_naive = (24, 64, 16, 64) if args.quick else (200, 640, 64, 640)
    ctx = Ctx(args.bundle, threads, 0.5 if args.quick else 3.0, ["CPUExecutionProvider"])
    convs = load_conversations(args.data, n_conv, args.seed)
    windows = sample_windows(bundle, convs, n_win, args.seed)
    gpu = False  # CPU measurements only; fp16 rows need a GPU machine (docs/performance.md)
    rows = engine_rows(ctx, bundle, windows, (64, 128, 256), n_bucket, gpu)
    # the variant `groomguard serve` resolves `auto` to on this CPU: the engine's own resolution
    probe = engine_for(ctx, "auto", 1)
    auto = probe.variant
    probe.close()
    naive, naive_model = naive_pipeline_rows(ctx, bundle, convs, n_naive, args.checkpoint, args.seed,
                                             bf16=auto == "bf16")
    rows = naive + rows
    result: dict[str, Any] = {
        "created_at": datetime.now(timezone.utc).isoformat(), "quick": args.quick, "machine": machine(threads),
        "bundle": bundle.manifest.model_ref, "data": str(args.data) if args.data.is_file() else "synthetic filler",
        "windows": len(windows), "mean_window_tokens": sum(map(len, windows)) / len(windows),
        "naive_model": naive_model, "default_variant": auto, "throughput": rows,
        "tokenise_share": tokenise_share(ctx, bundle, convs, auto),
        "service_append_latency": service_append_latency(ctx, bundle, auto, max(convs, key=lambda c: len(c.messages)),
                                                         samples=3 if args.quick else 7),
        "variants_recorded_at_export": {k: v.model_dump() for k, v in bundle.manifest.variants.items()},
    }
    # Single rates on a shared VM move by ±15 %: what the ratios are made of is measured `repeat`
    # times, interleaved (naive, engine, naive, engine, ...), and the ratios use the medians.
    reps = 1 if args.quick else max(1, args.repeat)
    server_streams = load_serve_config(None, []).engine.streams  # what `serving` below runs with
    runs: dict[str, list[float]] = {"naive_best": [], "default_best": [], "default_batch1": []}
    for i in range(reps):
        if i:
            naive, _ = naive_pipeline_rows(ctx, bundle, convs, n_naive, args.checkpoint, args.seed,
                                           bf16=auto == "bf16")
        eng = rows if i == 0 else engine_rows(ctx, bundle, windows, (), n_bucket, gpu, only=auto)
        runs["naive_best"].append(max(r["windows_per_s"] for r in naive if r["variant"] == "torch fp32"))
        if auto == "bf16":
            runs.setdefault("naive_bf16_best", []).append(
                max(r["windows_per_s"] for r in naive if r["variant"] == "torch bf16 autocast"))
        runs["default_best"].append(max(r["windows_per_s"] for r in eng
                                        if r["variant"] == auto and r["input"] == "windows"))
        runs["default_batch1"].append(next(r["windows_per_s"] for r in eng if r["variant"] == auto
                                           and r["batch"] == 1 and r["input"] == "windows"))
        if server_streams > 1 and not args.no_http:
            runs.setdefault("default_batch1_server_streams", []).append(
                batch1_rate(ctx, auto, windows, server_streams))
    result["repeats"] = runs
    result["server_streams"] = server_streams
    best_naive, best_default, b1 = (statistics.median(runs[k]) for k in ("naive_best", "default_best",
                                                                           "default_batch1"))
    svc = result["service_append_latency"]
    if runs.get("naive_bf16_best"):
        result["ratios_like_for_like"] = {"default_vs_naive_bf16_best":
                                          best_default / statistics.median(runs["naive_bf16_best"])}
    result["ratios"] = {"default_vs_naive_best": best_default / best_naive,
                        "service_latency_1000_vs_10": svc["1000"]["median_ms"] / svc["10"]["median_ms"],
                        "service_latency_1000_vs_100": svc["1000"]["median_ms"] / svc["100"]["median_ms"]}
    # Inference cost follows the window's length, which grows until the window is full: report it
    # beside the latencies so "grows with the conversation" and "longer window" can be told apart.
    longest = max(convs, key=lambda c: len(c.messages))
    result["window_tokens_at_message"] = window_tokens_at(bundle, longest, (10, 100, 1000))
    # The same marks on the conversation whose window is fullest at message 10: with the window's
    # length held (nearly) equal, what is left is what the conversation's length itself costs.
    full = max(convs, key=lambda c: window_tokens_at(bundle, c, (10,))["10"])
    # And on the longest benign conversation: an append to a conversation with an open case also writes
    # evidence and score history, so where a case opens between two marks their ratio is not length alone.
    benign = max((c for c in convs if not c.label), key=lambda c: len(c.messages), default=longest)
    others = {"full": full, "benign": benign}  # keys: append_latency_ms_<name>, window_tokens_at_message_<name>
    for name, conv in others.items():
        result[f"window_tokens_at_message_{name}"] = window_tokens_at(bundle, conv, (10, 100, 1000))
    if not args.no_http:
        from benchmarks.suite_http import append_clients, append_latency, serving

        per_client = {1: 10, 8: 4, 32: 2} if args.quick else {1: 100, 8: 40, 32: 16}
        with serving(args.bundle, auto, threads) as (url, headers):
            http = [append_clients(url, headers, c, n, convs) for c, n in per_client.items()]
            http8 = [http[1]] + [append_clients(url, headers, 8, per_client[8], convs, tag=f"rep{i}-")
                                 for i in range(1, reps)]
            # k = 10 messages per append: every one is scored (10 windows per request, one batch)
            http_k10 = [append_clients(url, headers, c, max(1, n // 4), convs, tag="k10-", per_request=10)
                        for c, n in per_client.items() if c in (1, 8)]
            # One timed append per replay, exactly the N-th message, so the window measured is the
            # window reported in window_tokens_at_message (7 appends before the mark would mix in
            # the shorter windows of messages 4-9).
            replays = 3 if args.quick else 21
            cases: dict[str, dict[str, bool]] = {name: {} for name in ("longest", *others)}
            latency = append_latency(url, headers, longest, samples=1, replays=replays, case_open=cases["longest"])
            latency_of = {name: append_latency(url, headers, conv, samples=1, conversation_id=f"latency-{name}",
                                               replays=replays, case_open=cases[name])
                          for name, conv in others.items()}
        for h in http + http_k10:
            h["vs_engine_batch1"] = h["messages_per_s"] / b1
        result["http_appends"] = http
        result["http_appends_k10"] = http_k10
        result["append_latency_ms"] = latency
        result["append_latency_samples"] = {"replays": replays, "per_mark_and_replay": 1}
        for name, lat in latency_of.items():
            result[f"append_latency_ms_{name}"] = lat
            ratio = "window_full" if name == "full" else name  # the key earlier runs' JSON used
            result["ratios"][f"latency_1000_vs_10_{ratio}"] = lat["1000"] / lat["10"]
        result["append_latency_case_open"] = cases
        runs["http_8_clients"] = [h["req_per_s"] for h in http8]
        result["ratios"]["http_8_clients_vs_engine_batch1"] = statistics.median(runs["http_8_clients"]) / b1
        if runs.get("default_batch1_server_streams"):
            result["ratios_reference"] = {"http_8_clients_vs_engine_batch1_server_streams": statistics.median(
                runs["http_8_clients"]) / statistics.median(runs["default_batch1_server_streams"])}
        result["ratios"]["latency_1000_vs_10"] = latency["1000"] / latency["10"]
        result["ratios"]["latency_1000_vs_100"] = latency["1000"] / latency["100"]
    result["triton"] = "not measured (--quick or --no-triton)"
    if not (args.quick or args.no_triton):
        from benchmarks.suite_triton import triton_rows

        try:
            rows += triton_rows(ctx, bundle, windows)
            result["triton"] = "measured: PyTriton tritonserver on this CPU, gRPC, ORT inside Triton on its own threads"
        except Exception as exc:  # a server that cannot start is a result of the run, not a crash
            result["triton"] = f"not measured: {exc.__class__.__name__}: {str(exc)[:200]}"
    if args.backfill:
        from benchmarks.backfill_ray import measure

        result["backfill"] = measure(args.bundle, args.backfill, seed=args.seed)
    result["seconds"] = time.perf_counter() - t_start
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        result = run(args)
    except GroomguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table = render_markdown(result)
    if args.doc:
        replace_section(args.doc, table)
    print(table)
    print(f"-> {args.out} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
