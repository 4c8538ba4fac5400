"""Markdown for `python -m benchmarks`: the generated section of docs/performance.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def render_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        f"Run {r['created_at'][:19]}Z{' (--quick)' if r['quick'] else ''}: {m['cpu']}, {m['cores']} cores, "
        f"{m['threads']} thread(s), 1-min load average {m['load_avg_1m']:.1f} at the end, onnxruntime "
        f"{m['onnxruntime']}, GPU: {m['gpu']}. Bundle `{r['bundle']}`; {r['windows']} windows from "
        f"{r['data']} (mean {r['mean_window_tokens']:.0f} tokens). Baseline model: {r['naive_model']}. "
        f"Default variant (`engine.variant: auto`): **{r['default_variant']}**.",
        "",
        "| path | variant | batch | input | windows/s |",
        "|---|---|---|---|---|",
    ]
    for row in r["throughput"]:
        lines.append(f"| {row['path']} | {row['variant']} | {row['batch']} | {row['input']} | "
                     f"{row['windows_per_s']:.1f} |")
    repeats = r.get("repeats", {})
    if len(repeats.get("naive_best", [])) > 1:
        lines += ["", f"Ratio inputs, {len(repeats['naive_best'])} interleaved repetitions, median (min-max): "
                  + "; ".join(f"{k} {statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})" for k, v in repeats.items())
                  + ". The ratios use the medians."]
    ts = r["tokenise_share"]
    lines += ["", f"Normalise + tokenise the new message and assemble the window from cached ids (what an "
                  f"append does): {ts['tokenise_ms']:.2f} ms vs {ts['infer_ms']:.1f} ms batch-1 inference "
                  f"({ts['variant']}): **{100 * ts['share']:.1f} %** of the two (re-rendering the whole stored "
                  f"tail, {ts['mean_messages']:.0f} messages on average, would cost {ts['whole_tail_ms']:.1f} ms)."]
    svc = r["service_append_latency"]
    lines += ["", "| review service append (SQLite, no HTTP) at message | median ms | normalise + tokenise ms "
                  "| share |", "|---|---|---|---|"]
    for mark, v in svc.items():
        lines.append(f"| {mark} | {v['median_ms']:.1f} | {v['tokenise_ms']:.2f} | "
                     f"{100 * v['tokenise_share']:.1f} % |")
    if "http_appends" in r:
        for key, what in (("http_appends", "one message each"), ("http_appends_k10", "10 messages each: 10 windows")):
            lines += ["", f"| HTTP streaming appends (SQLite, {what}) | req/s | messages/s | vs engine batch 1 "
                          "(messages) | p50 ms | p99 ms |", "|---|---|---|---|---|---|"]
            for h in r.get(key, []):
                lines.append(f"| {h['clients']} client(s), {h['requests']} requests, {h['errors']} errors | "
                             f"{h['req_per_s']:.1f} | {h.get('messages_per_s', h['req_per_s']):.1f} | "
                             f"{100 * h['vs_engine_batch1']:.0f} % | {h['p50_ms']:.0f} | {h['p99_ms']:.0f} |")
        lat = r["append_latency_ms"]
        n = r.get("append_latency_samples", {})
        lines += ["", f"Append latency (median ms of {n.get('replays', 1) * n.get('per_mark_and_replay', 7)} "
                      f"appends per mark, {n.get('replays', 1)} replay(s)) at message "
                  + ", ".join(f"{k}: {v:.0f}" for k, v in lat.items())
                  + f" (1,000 vs 10: {r['ratios']['latency_1000_vs_10']:.2f}x; 1,000 vs 100: "
                  f"{r['ratios']['latency_1000_vs_100']:.2f}x). Newest window at message "
                  + ", ".join(f"{k}: {v} tokens" for k, v in r["window_tokens_at_message"].items())
                  + " (inference cost follows the window's length until the window is full)."]
        for name, what, ratio in (("full", "the conversation whose window is fullest at message 10", "window_full"),
                                  ("benign", "the longest benign conversation", "benign")):
            if f"append_latency_ms_{name}" in r:
                lines += ["", f"Same marks on {what} (window "
                          + ", ".join(f"{k}: {v}" for k, v in r[f"window_tokens_at_message_{name}"].items())
                          + " tokens): " + ", ".join(f"{k}: {v:.0f}" for k, v in r[f"append_latency_ms_{name}"].items())
                          + f" ms (1,000 vs 10: {r['ratios'][f'latency_1000_vs_10_{ratio}']:.2f}x)."]
        if "append_latency_case_open" in r:
            lines += ["", "Case open at the mark (an append to a conversation with a case also writes evidence "
                      "and score history): " + "; ".join(
                          f"{conv} " + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in marks.items())
                          for conv, marks in r["append_latency_case_open"].items()) + "."]
    if "backfill" in r:
        b = r["backfill"]
        lines += ["", f"Backfill of {b['conversations']:,} synthetic conversations ({b['windows']:,} windows, "
                      f"{b['variant']}): local engine {b['local']['conversations_per_s']:.1f} conversations/s "
                      f"({b['local']['threads']} threads); Ray Data {b['ray']['conversations_per_s']:.1f} "
                      f"conversations/s ({b['ray']['actors']} actors, cluster start "
                      f"{b['ray']['cluster_start_seconds']:.0f} s not included); max |Δ risk| "
                      f"{b['max_abs_diff_risk']:.1e}, records identical: {b['records_identical']}."]
    lines += ["", "Ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in r["ratios"].items()) + "."]
    if "ratios_like_for_like" in r:
        lines += ["Like-for-like precision (not the target's baseline): " + ", ".join(
            f"{k} {v:.2f}" for k, v in r["ratios_like_for_like"].items()) + "."]
    if "ratios_reference" in r:
        lines += [f"Against the engine with the server's {r['server_streams']} streams at batch 1 (not the "
                  "target's baseline, which is the engine's 1-stream batch-1 rate): " + ", ".join(
                      f"{k} {v:.2f}" for k, v in r["ratios_reference"].items()) + "."]
    lines += [f"Triton: {r['triton']}."]
    return "\n".join(lines) + "\n"


def replace_section(doc: Path, body: str, marker: str = "bench") -> None:
    """Put `body` between the `<!-- {marker}:start/end -->` markers (appended with them when absent)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    block = f"{start}\n{body}{'' if body.endswith(chr(10)) else chr(10)}{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
