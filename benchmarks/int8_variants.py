"""int8 options side by side: error vs fp32 and CPU throughput, one process, same windows.

Why: an int8 variant is only worth serving if it is faster than fp32 AND moves risks by at most
0.02 (the same thresholds must hold). This script builds each option from the bundle's fp32 graph
and measures, on held-out windows (a labelled JSONL windowed by the bundle's own Windower):
max / p99 / mean |Δ risk| (calibrated, as served) against fp32 and windows/s at batch 1 and 32. Static options calibrate
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
from groomguard.training.export.quantise import quantise_nbits, quantise_static
from groomguard.training.export.variants import fuse, logits, session, windows_per_s

Builder = Callable[[Path, Path, list[list[int]]], Any]  # (fp32 or fused src, out, calibration windows)


def _excluded(src: Path, pattern: str) -> list[str]:
    """Names of the nodes whose name matches `pattern` (regex): they stay fp32."""
    if not pattern:
        return []
    import onnx

    rx = re.compile(pattern)
    return [n.name for n in onnx.load(str(src), load_external_data=False).graph.node if rx.search(n.name)]


def _dynamic(op_types: tuple[str, ...], exclude: str = "", reduce_range: bool = False) -> Builder:
    def build(src: Path, out: Path, _calib: list[list[int]]) -> Any:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process

        if "fused" in src.name:  # contrib ops: ONNX shape inference alone leaves types unknown
            pre = out.with_suffix(".pre.onnx")
            quant_pre_process(str(src), str(pre), skip_optimization=True, skip_onnx_shape=False,
                              skip_symbolic_shape=False, auto_merge=True)
            src = pre
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True, reduce_range=reduce_range,
                         op_types_to_quantize=list(op_types) or None, nodes_to_exclude=_excluded(src, exclude))
        return out
    return build


def _static(exclude: str = "", const_only: bool = True, method: str = "minmax") -> Builder:
    def build(src: Path, out: Path, calib: list[list[int]]) -> Any:
        return quantise_static(src, out, calib, exclude_nodes=_excluded(src, exclude), const_weights_only=const_only,
                               method=method)
    return build


def _nbits(block: int = 32, accuracy_level: int = 4, exclude: str = "", symmetric: bool = True,
           bits: int = 8) -> Builder:
    def build(src: Path, out: Path, _calib: list[list[int]]) -> Any:
        return quantise_nbits(src, out, bits, block, accuracy_level, symmetric, _excluded(src, exclude))
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
    "dynamic MatMul per-channel, reduce_range": ("fp32", _dynamic(("MatMul",), reduce_range=True)),
    "fused + dynamic MatMul per-channel": ("fused", _dynamic(("MatMul",))),
    "fused + dynamic MatMul+Attention per-channel": ("fused", _dynamic(("MatMul", "Attention"))),
    "static QDQ MatMul(weights) per-channel, percentile 99.999": ("fp32", _static(method="percentile")),
    "static QDQ MatMul(weights) per-channel, entropy": ("fp32", _static(method="entropy")),
    "static QDQ percentile, FFN down fp32": ("fp32", _static(FFN_DOWN, method="percentile")),
    "MatMulNBits 8-bit block 32, int8 compute (acc 4)": ("fp32", _nbits(32)),
    "MatMulNBits 8-bit block 128, int8 compute (acc 4)": ("fp32", _nbits(128)),
    "MatMulNBits 8-bit block 32, asymmetric (acc 4)": ("fp32", _nbits(32, symmetric=False)),
    "MatMulNBits 8-bit block 32, fp32 compute (acc 1)": ("fp32", _nbits(32, 1)),
    "MatMulNBits 8-bit block 32, FFN down fp32 (acc 4)": ("fp32", _nbits(32, exclude=FFN_DOWN)),
    "fused + MatMulNBits 8-bit block 32 (acc 4)": ("fused", _nbits(32)),
    "MatMulNBits 8-bit block 16, asymmetric (acc 4)": ("fp32", _nbits(16, symmetric=False)),
    "MatMulNBits 8-bit block 64, asymmetric (acc 4)": ("fp32", _nbits(64, symmetric=False)),
    "MatMulNBits 8-bit block 32, asymmetric, FFN down fp32 (acc 4)": ("fp32", _nbits(32, exclude=FFN_DOWN,
                                                                                    symmetric=False)),
    "fused + MatMulNBits 8-bit block 32, asymmetric (acc 4)": ("fused", _nbits(32, symmetric=False)),
    "4-bit for comparison: MatMulNBits 4-bit block 32, asymmetric (acc 4)": ("fp32", _nbits(32, symmetric=False,
                                                                                            bits=4)),
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
    ap.add_argument("--ab", type=float, default=0.0,
                    help="then time fp32 and every option with max |Δ risk| <= this, interleaved (A/B rounds)")
    ap.add_argument("--ab-rounds", type=int, default=5)
    args = ap.parse_args()

    bundle = Bundle.load(args.bundle)
    temperature = bundle.manifest.calibration.temperature
    bias = bundle.manifest.calibration.bias  # the served risk: what the thresholds apply to
    pad_id = bundle.windower().pad_id
    windows = load_windows(bundle, args.data, args.windows, args.seed)
    calib = load_windows(bundle, args.calibration, args.calibration_windows, args.seed + 1)
    fp32 = bundle.model_path("fp32")

    ref_raw: list[np.ndarray] = []

    def row(name: str, path: Path, ref: np.ndarray | None) -> dict[str, Any]:
        sess = session(path, args.threads)
        raw = logits(sess, windows, pad_id)
        risk = risk_from_logits(raw, temperature, bias=bias)
        d = np.abs(risk - ref) if ref is not None else np.zeros(len(windows))
        p_raw = risk_from_logits(raw)  # what the export records (it measures before calibration is fitted)
        d_raw = np.abs(p_raw - ref_raw[0]) if ref_raw else np.zeros(len(windows))
        r = {"option": name, "max": float(d.max()), "max_uncalibrated": float(d_raw.max()),
             "p99": float(np.quantile(d, 0.99)), "mean": float(d.mean()),
             "mb": path.stat().st_size / 2**20,
             "b1": windows_per_s(sess, windows[:100], pad_id, 1), "b32": windows_per_s(sess, windows, pad_id, 32)}
        print(f"{name:58s} max {r['max']:.4f} (raw p {r['max_uncalibrated']:.4f}) p99 {r['p99']:.4f} "
              f"mean {r['mean']:.5f} {r['mb']:5.1f} MB "
              f"b1 {r['b1']:6.1f} b32 {r['b32']:6.1f} win/s", flush=True)
        if not ref_raw:
            ref_raw.append(p_raw)
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
            rows.append({**row(name, out, ref), "path": out})
        if args.ab > 0:
            picked = [r for r in rows[2:] if r["max"] <= args.ab]
            ab_rounds(fp32, picked, windows, pad_id, args.threads, args.ab_rounds)
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k not in ("risk", "path")} for r in rows],
                                        indent=2))


def ab_rounds(fp32: Path, picked: list[dict[str, Any]], windows: list[list[int]], pad_id: int, threads: int,
              rounds: int) -> None:
    """Speed of each option relative to fp32 timed right before it, round after round: on a shared
    machine only these interleaved ratios mean something (absolute windows/s drift with the load)."""
    ref = session(fp32, threads)
    sessions = [(r["option"], session(r["path"], threads)) for r in picked]
    ratios: dict[str, dict[int, list[float]]] = {name: {1: [], 32: []} for name, _ in sessions}
    for _ in range(rounds):
        for name, sess in sessions:
            for batch, ws in ((1, windows[:64]), (32, windows[:64])):
                base = windows_per_s(ref, ws, pad_id, batch, 0.5)
                ratios[name][batch].append(windows_per_s(sess, ws, pad_id, batch, 0.5) / base)
    for name, by_batch in ratios.items():
        print(f"A/B {name:54s} speed vs fp32 (median of {rounds} interleaved rounds): batch 1 "
              f"{float(np.median(by_batch[1])):.2f}x, batch 32 {float(np.median(by_batch[32])):.2f}x", flush=True)


if __name__ == "__main__":
    main()
