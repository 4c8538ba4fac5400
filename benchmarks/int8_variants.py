"""int8 options side by side: error vs fp32 and CPU throughput, one process, same windows.

Why: an int8 variant is only worth serving if it is faster than fp32 AND moves risks by at most
0.02 (the same thresholds must hold). This script builds each option from the bundle's fp32 graph
and measures, on held-out windows (a labelled JSONL windowed by the bundle's own Windower):
max / p99 / mean |Δ risk| against fp32 and windows/s at batch 1 and 32. Static options calibrate
on windows of a DIFFERENT JSONL (`--calibration`), so the error is measured on unseen windows.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 .venv/bin/python benchmarks/int8_variants.py \
        --bundle models/bundles/demo --data data/demo/test.jsonl --calibration data/demo/val.jsonl

Writes nothing into the bundle; the candidates go to a temporary directory. Results and the
choice: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.bundle import Bundle
from groomguard.jsonl import iter_jsonl
from groomguard.scores import risk_from_logits
from groomguard.training.quantise import quantise_static
from groomguard.training.variants import fuse, logits, session, windows_per_s

Builder = Callable[[Path, Path, list[list[int]]], Any]  # (fp32 or fused src, out, calibration windows)


def _excluded(src: Path, pattern: str) -> list[str]:
    """Names of the nodes whose name matches `pattern` (regex): they stay fp32."""
    if not pattern:
        return []
    import onnx

    rx = re.compile(pattern)
    return [n.name for n in onnx.load(str(src), load_external_data=False).graph.node if rx.search(n.name)]


def _dynamic(op_types: tuple[str, ...], exclude: str = "") -> Builder:
    def build(src: Path, out: Path, _calib: list[list[int]]) -> Any:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=list(op_types) or None, nodes_to_exclude=_excluded(src, exclude))
        return out
    return build


def _static(exclude: str = "", const_only: bool = True) -> Builder:
    def build(src: Path, out: Path, calib: list[list[int]]) -> Any:
        return quantise_static(src, out, calib, exclude_nodes=_excluded(src, exclude), const_weights_only=const_only)
    return build


FFN_DOWN = r"layer\.\d+/output/dense"  # the 1536 -> 384 projection after GELU (activation outliers)
FFN_UP = r"/intermediate/dense"
ATT_OUT = r"/attention/output/dense"
QKV = r"/attention/self/(query|key|value)/"
LAST = r"/layer\.5/"


# name -> (source graph, builder)
OPTIONS: dict[str, tuple[str, Builder]] = {
    "dynamic all-ops per-channel (current)": ("fp32", _dynamic(())),
    "dynamic MatMul per-channel": ("fp32", _dynamic(("MatMul",))),
    "dynamic MatMul per-channel, last layer fp32": ("fp32", _dynamic(("MatMul",), LAST)),
    "dynamic MatMul per-channel, FFN down fp32": ("fp32", _dynamic(("MatMul",), FFN_DOWN)),
    "dynamic MatMul per-channel, FFN up fp32": ("fp32", _dynamic(("MatMul",), FFN_UP)),
    "dynamic MatMul per-channel, attention out fp32": ("fp32", _dynamic(("MatMul",), ATT_OUT)),
    "dynamic MatMul per-channel, Q/K/V fp32": ("fp32", _dynamic(("MatMul",), QKV)),
    "dynamic MatMul per-channel, only Q/K/V": ("fp32", _dynamic(("MatMul",), f"{FFN_DOWN}|{FFN_UP}|{ATT_OUT}")),
    "static QDQ MatMul(weights) per-channel": ("fp32", _static()),
    "static QDQ MatMul(weights) per-channel, last layer fp32": ("fp32", _static(LAST)),
    "static QDQ MatMul(weights) per-channel, FFN down fp32": ("fp32", _static(FFN_DOWN)),
    "static QDQ all MatMul per-channel": ("fp32", _static(const_only=False)),
    "fused + static QDQ MatMul(weights) per-channel": ("fused", _static()),
}


def load_windows(bundle: Bundle, data: Path, n: int, seed: int) -> list[list[int]]:
    windower = bundle.windower()
    pool = [w.input_ids for conv in iter_jsonl(data) for w in windower.prefix_windows(conv)]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"))
    ap.add_argument("--calibration", type=Path, default=Path("data/demo/val.jsonl"))
    ap.add_argument("--windows", type=int, default=300)
    ap.add_argument("--calibration-windows", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="comma-separated substrings: run only matching options")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args()

    bundle = Bundle.load(args.bundle)
    temperature = bundle.manifest.calibration.temperature
    pad_id = bundle.windower().pad_id
    windows = load_windows(bundle, args.data, args.windows, args.seed)
    calib = load_windows(bundle, args.calibration, args.calibration_windows, args.seed + 1)
    fp32 = bundle.model_path("fp32")

    def row(name: str, path: Path, ref: np.ndarray | None) -> dict[str, Any]:
        sess = session(path, args.threads)
        risk = risk_from_logits(logits(sess, windows, pad_id), temperature)
        d = np.abs(risk - ref) if ref is not None else np.zeros(len(windows))
        r = {"option": name, "max": float(d.max()), "p99": float(np.quantile(d, 0.99)), "mean": float(d.mean()),
             "mb": path.stat().st_size / 2**20,
             "b1": windows_per_s(sess, windows[:100], pad_id, 1), "b32": windows_per_s(sess, windows, pad_id, 32)}
        print(f"{name:58s} max {r['max']:.4f} p99 {r['p99']:.4f} mean {r['mean']:.5f} {r['mb']:5.1f} MB "
              f"b1 {r['b1']:6.1f} b32 {r['b32']:6.1f} win/s", flush=True)
        return {**r, "risk": risk}

    print(f"{len(windows)} windows from {args.data}, {len(calib)} calibration windows from {args.calibration}, "
          f"bundle {bundle.manifest.model_ref}, {args.threads} thread(s)")
    rows = [row("fp32 (reference)", fp32, None)]
    ref = rows[0]["risk"]
    with tempfile.TemporaryDirectory() as tmp:
        fused = Path(tmp) / "fused.onnx"
        fuse(fp32, fused)
        rows.append(row("fused fp32", fused, ref))
        for i, (name, (src, build)) in enumerate(OPTIONS.items()):
            if args.only and not any(s in name for s in args.only.split(",")):
                continue
            out = Path(tmp) / f"{i}.onnx"
            try:
                build(fused if src == "fused" else fp32, out, calib)
            except Exception as exc:  # an option that cannot be built is a result, not a crash
                print(f"{name:58s} FAILED: {exc.__class__.__name__}: {str(exc)[:160]}", flush=True)
                continue
            rows.append(row(name, out, ref))
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "risk"} for r in rows], indent=2))


if __name__ == "__main__":
    main()
