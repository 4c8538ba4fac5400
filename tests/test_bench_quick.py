"""`python -m benchmarks --quick` runs end to end on the tiny bundle and writes its JSON and table.

Not a timed test: it checks the run completes and reports every measurement the issue asks for
(keys and shapes), never the numbers themselves.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


def test_quick_benchmark_writes_json_and_doc_section(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from benchmarks.__main__ import main
    from benchmarks.report import END, START
    from groomguard.bundle import Bundle, write_manifest
    from groomguard.scores import Thresholds

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, bundle)
    # the tiny model scores ~0.499 everywhere: with review at 0.3 every conversation has a case from its
    # first append, which `append_latency_case_open` must report
    write_manifest(bundle, Bundle.load(bundle).manifest.model_copy(update={"thresholds": Thresholds(review=0.3,
                                                                                                    high=0.9)}))
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nprose kept\n\n{START}\nold table\n{END}\n\nmore prose\n")
    out = tmp_path / "bench.json"
    assert main(["--bundle", str(bundle), "--quick", "--threads", "1", "--out", str(out), "--doc", str(doc),
                 "--data", str(tmp_path / "absent.jsonl"), "--checkpoint", str(tmp_path / "absent")]) == 0
    r = json.loads(out.read_text())
    assert {"machine", "throughput", "tokenise_share", "service_append_latency", "http_appends", "http_appends_k10",
            "append_latency_ms",
            "ratios", "default_variant", "naive_model", "triton"} <= set(r)
    cells = {(row["path"], row["batch"], row["input"]) for row in r["throughput"]}
    for batch in (1, 32):
        assert ("naive transformers pipeline", batch, "windows") in cells
        for s in ("windows", "S=64", "S=128", "S=256"):
            assert ("engine fp32", batch, s) in cells
    assert [h["clients"] for h in r["http_appends"]] == [1, 8, 32]
    assert all(h["errors"] == 0 and h["requests"] > 0 for h in r["http_appends"])
    k10 = r["http_appends_k10"]
    assert [(h["clients"], h["messages_per_request"]) for h in k10] == [(1, 10), (8, 10)]
    assert all(h["errors"] == 0 and h["messages_per_s"] == pytest.approx(10 * h["req_per_s"], rel=1e-9) for h in k10)
    assert set(r["append_latency_ms"]) == {"10", "100", "1000"}
    assert set(r["ratios"]) == {"default_vs_naive_best", "http_8_clients_vs_engine_batch1", "latency_1000_vs_10",
                                "latency_1000_vs_100", "service_latency_1000_vs_10", "service_latency_1000_vs_100",
                                "latency_1000_vs_10_window_full", "latency_1000_vs_10_benign"}
    assert set(r["append_latency_ms_full"]) == {"10", "100", "1000"} == set(r["append_latency_ms_benign"])
    assert r["append_latency_case_open"] == {c: {"10": True, "100": True, "1000": True}
                                             for c in ("longest", "full", "benign")}
    full = r["window_tokens_at_message_full"]
    assert full["10"] >= r["window_tokens_at_message"]["10"]  # chosen as the fullest window at message 10
    tokens = r["window_tokens_at_message"]
    assert set(tokens) == {"10", "100", "1000"} and all(0 < v <= 512 for v in tokens.values())
    assert 0 < r["tokenise_share"]["share"] < 1
    svc = r["service_append_latency"]
    assert set(svc) == {"10", "100", "1000"}
    assert all(0 < v["tokenise_ms"] < v["median_ms"] and 0 < v["tokenise_share"] < 1 for v in svc.values())
    text = doc.read_text()
    assert "old table" not in text and "prose kept" in text and "more prose" in text
    assert text.count(START) == 1 and "| engine fp32 | fp32 | 32 | S=256 |" in text
