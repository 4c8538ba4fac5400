"""int8 dynamic-quantisation options side by side: error vs fp32 and CPU throughput, one process.

Why: the bundle's `model.int8.onnx` must be close enough to fp32 that the same thresholds hold.
This script quantises the bundle's fp32 graph several ways and measures, on held-out windows of a
labelled JSONL (windowed by the bundle's own Windower, calibrated with the bundle's temperature):
max / p99 / mean |Δ risk| against fp32, window ROC-AUC, and windows/s on this CPU.

    .venv/bin/python benchmarks/int8_variants.py --bundle models/bundles/demo \
        --data data/demo/val.jsonl --windows 400

Writes nothing into the bundle; quantised copies go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.metrics import roc_auc
from groomguard.bundle import Bundle
from groomguard.jsonl import iter_jsonl
from groomguard.scores import risk_from_logits
from groomguard.windowing import window_label
from training.export import ort_logits, ort_session

# name -> quantize_dynamic keyword arguments
VARIANTS: dict[str, dict[str, Any]] = {
    "all-ops per-tensor (old default)": {},
    "all-ops per-channel": {"per_channel": True},
    "all-ops reduce-range": {"reduce_range": True},
    "MatMul only per-tensor": {"op_types_to_quantize": ["MatMul"]},
    "MatMul only per-channel": {"op_types_to_quantize": ["MatMul"], "per_channel": True},
}


def load_windows(bundle: Bundle, data: Path, n: int, seed: int) -> tuple[list[list[int]], list[int]]:
    windower = bundle.windower()
    pool: list[tuple[list[int], int]] = []
    for conv in iter_jsonl(data):
        for w in windower.prefix_windows(conv):
            label = window_label(conv, w.end)
            if label is not None:
                pool.append((w.input_ids, label))
    random.Random(seed).shuffle(pool)
    chosen = pool[:n]
    return [w for w, _ in chosen], [y for _, y in chosen]


def throughput(sess: Any, windows: list[list[int]], pad_id: int, repeats: int) -> float:
    ort_logits(sess, windows[:32], pad_id)  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        ort_logits(sess, windows, pad_id)
    return repeats * len(windows) / (time.perf_counter() - t0)


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/demo/val.jsonl"))
    ap.add_argument("--windows", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    args = ap.parse_args()

    bundle = Bundle.load(args.bundle)
    temperature = bundle.manifest.calibration.temperature
    pad_id = bundle.windower().pad_id
    windows, labels = load_windows(bundle, args.data, args.windows, args.seed)
    fp32 = bundle.model_path("fp32")
    fp32_sess = ort_session(fp32, args.threads)
    ref = risk_from_logits(ort_logits(fp32_sess, windows, pad_id), temperature)
    rows = [{"variant": "fp32 (reference)", "max": 0.0, "p99": 0.0, "mean": 0.0,
             "auc": roc_auc(labels, ref.tolist()), "mb": fp32.stat().st_size / 2**20,
             "windows_per_s": throughput(fp32_sess, windows, pad_id, args.repeats)}]
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs in VARIANTS.items():
            out = Path(tmp) / f"{len(rows)}.onnx"
            quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, **kwargs)
            sess = ort_session(out, args.threads)
            got = risk_from_logits(ort_logits(sess, windows, pad_id), temperature)
            d = np.abs(ref - got)
            rows.append({"variant": name, "max": float(d.max()), "p99": float(np.quantile(d, 0.99)),
                         "mean": float(d.mean()), "auc": roc_auc(labels, got.tolist()),
                         "mb": out.stat().st_size / 2**20,
                         "windows_per_s": throughput(sess, windows, pad_id, args.repeats)})
    print(f"{len(windows)} windows from {args.data} ({sum(labels)} positive), bundle {bundle.manifest.model_ref}, "
          f"temperature {temperature:.3f}")
    print(f"{'variant':36s} {'max|Δ|':>8s} {'p99|Δ|':>8s} {'mean|Δ|':>8s} {'AUC':>7s} {'MB':>6s} {'win/s':>7s}")
    for r in rows:
        print(f"{r['variant']:36s} {r['max']:8.4f} {r['p99']:8.4f} {r['mean']:8.4f} {r['auc']:7.4f} "
              f"{r['mb']:6.1f} {r['windows_per_s']:7.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
