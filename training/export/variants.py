"""Faster variants of the exported fp32 graph, each measured where it is made.

- `fused` (model.fused.onnx): ONNX Runtime's transformer optimizer fuses embeddings + layer norm,
  attention, bias + GELU and skip + layer norm into contrib ops (EmbedLayerNormalization,
  Attention, BiasGelu, SkipLayerNormalization). Same arithmetic, fewer kernels: about 1.4x fp32
  on CPU. It is gated like fp32 itself: against PyTorch on the parity windows, <= the export's
  `parity_tolerance` (the same reference and limit the fp32 graph passed), else it is not shipped.
  Contrib ops run on ONNX Runtime (CPU, CUDA); TensorRT and other runtimes may not take them,
  so Triton keeps serving the plain fp32 graph.
- `fused-fp16` (model.fused-fp16.onnx, `export.fused_fp16`, off by default): the same fusions, then fp16,
  for GPUs (training/export/fused_fp16.py); gated on the CPU against fp32 at
  `export.fused_fp16_max_delta_prob` (0.01, the fp16 tolerance). No CPU speed is recorded: it is a
  GPU variant (`python -m benchmarks.gpu` measures it on a card).
- `int8` (model.int8.onnx): see training/export/quantise.py; its error is measured against fp32 and, with
  `export.int8_max_delta_prob`, gated (left out above it).
- `bf16` (no file of its own): model.onnx run by OpenVINO at bf16 inference precision
  (serving/backends/openvino.py). Measured only where OpenVINO is installed and the CPU computes bf16
  natively; gated by `export.bf16_max_delta_prob`.

Every variant records in bundle.json its max |Δ risk| against fp32 on the parity windows plus
`export.variant_error_windows` validation windows (48 parity windows alone under-estimated int8's
error 3x: docs/performance.md) and its speed (windows/s at batch 1 and 32 on the parity windows,
this machine, `threads` threads), so serving can pick the fastest variant within tolerance
(serving/variant_choice.py).
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from groomguard.batching import run_batches
from groomguard.bundle import MODEL_FILES, VariantInfo
from groomguard.lexical import Hybrid
from groomguard.scores import risk_from_logits
from groomguard.serving.backends.onnxruntime import open_session
from groomguard.training.export.fused_fp16 import build_fused_fp16
from groomguard.training.export.fused_fp16 import method as fused_fp16_method
from groomguard.training.export.fusion import fuse
from groomguard.training.export.parity import ExportError, check_parity
from groomguard.training.export.quantise import quantise_int8, quantise_nbits, quantise_static
from groomguard.training.train_config import ExportSettings

log = logging.getLogger(__name__)
SPEED_BATCHES = (1, 32)


def session(path: Path, threads: int = 1) -> Any:
    """A CPU session for measuring a variant (one thread by default: the per-core rate)."""
    return open_session(path, threads=threads)


def logits(sess: Any, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int = 32) -> np.ndarray:
    names = [i.name for i in sess.get_inputs()]
    return run_batches(windows, pad_id, batch_size, lambda b: sess.run(
        None, dict(zip(names, (b.input_ids, b.attention_mask), strict=True)))[0])


def windows_per_s(sess: Any, windows: Sequence[Sequence[int]], pad_id: int, batch_size: int,
                  min_seconds: float = 1.0) -> float:
    """Throughput over `windows` (repeated until `min_seconds` passed), after one warm-up batch."""
    logits(sess, windows[:batch_size], pad_id, batch_size)
    done, t0 = 0, time.perf_counter()
    while True:
        logits(sess, windows, pad_id, batch_size)
        done += len(windows)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return done / elapsed


class BackendSession:
    """An ONNX-Runtime-session-shaped view (`get_inputs`, `run`) of a serving backend, so the one timing
    and scoring loop here measures every runtime the same way."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def get_inputs(self) -> list[Any]:
        return [SimpleNamespace(name=n) for n in self.backend.input_names]

    def run(self, _outputs: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [self.backend.infer(*(feeds[n] for n in self.backend.input_names))]


def bf16_session(path: Path, threads: int = 1) -> BackendSession:
    from groomguard.serving.backends.openvino import OpenVinoBackend

    return BackendSession(OpenVinoBackend(path, "bf16", threads))


def machine(threads: int, runtime: str = "") -> str:
    """What the speeds were measured on (they mean nothing without it)."""
    import onnxruntime as ort

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {runtime or f'onnxruntime {ort.__version__}'} CPU, {threads} thread(s)"


def served_risk(raw: np.ndarray, windows: Sequence[Sequence[int]], pad_id: int,
                calibration: tuple[float, float], hybrid: Hybrid | None = None) -> np.ndarray:
    """The risk serving returns for these windows' transformer logits: the lexical head combined (if
    any), then `calibration` = (temperature, bias) (serving/engine.py does the same per batch)."""
    if hybrid is not None:
        raw = hybrid.logits_for(raw, windows, pad_id)
    return risk_from_logits(raw, calibration[0], bias=calibration[1])


def measure(path: Path, reference: np.ndarray, windows: Sequence[Sequence[int]], pad_id: int,
            threads: int = 1, calibration: tuple[float, float] = (1.0, 0.0),
            speed_windows: Sequence[Sequence[int]] | None = None, sess: Any = None,
            runtime: str = "", hybrid: Hybrid | None = None) -> dict[str, Any]:
    """max |Δ risk| of `path` against `reference` risks of `windows` (served risk: `hybrid` and
    `calibration` applied, as serving does), and windows/s at each of SPEED_BATCHES on `speed_windows`
    (default `windows`). `sess`: an already open session (default: ONNX Runtime on `path`)."""
    sess = sess or session(path, threads)
    got = served_risk(logits(sess, windows, pad_id), windows, pad_id, calibration, hybrid)
    timed = windows if speed_windows is None else speed_windows
    return {"max_abs_delta_prob": float(np.max(np.abs(got - reference))),
            "windows_per_s": {str(b): round(windows_per_s(sess, timed, pad_id, b), 2) for b in SPEED_BATCHES},
            "measured_on": machine(threads, runtime)}


def calibration_windows(pool: Sequence[Sequence[int]], probe: Sequence[Sequence[int]], n: int) -> list[list[int]]:
    """Up to n windows of `pool`, evenly spread, none equal to a probe window (errors are measured on unseen ones)."""
    seen = {tuple(w) for w in probe}
    rest = [list(w) for w in pool if tuple(w) not in seen]
    step = max(1, len(rest) // max(1, n))
    return rest[::step][:n]


def export_variants(model: Any | None, out_dir: Path, probe: Sequence[Sequence[int]], pool: Sequence[Sequence[int]],
                    pad_id: int, settings: ExportSettings, threads: int = 1,
                    say: Callable[[str], None] = print,
                    calibration: tuple[float, float] = (1.0, 0.0),
                    hybrid: Hybrid | None = None) -> dict[str, VariantInfo]:
    """The export's variant step: fp32 timed, `fused` built and gated, `int8` built; all measured.

    `model` is the PyTorch reference of the fused parity gate (None: the fp32 graph is, for a bundle
    whose checkpoint is not at hand); `probe` the parity windows (speeds are timed on them; errors on
    them plus `settings.variant_error_windows` other windows of `pool`, the validation windows, where
    static int8 also calibrates).
    A fused graph that fails its gate or cannot be built is left out (logged), never shipped; so is
    an int8 or bf16 variant over `settings.int8_max_delta_prob` / `bf16_max_delta_prob`. Errors are on
    the served risk (`hybrid`'s lexical head combined, then `calibration` = (temperature, bias)), what
    serving returns and the thresholds apply to.
    """

    fp32 = out_dir / MODEL_FILES["fp32"]
    # errors on the parity windows plus validation windows the probe does not hold; speeds on the probe
    checked = [*map(list, probe), *calibration_windows(pool, probe, settings.variant_error_windows)]
    ref = served_risk(logits(session(fp32, threads), checked, pad_id), checked, pad_id, calibration, hybrid)
    out: dict[str, VariantInfo] = {}

    def measured(path: Path, **kw: Any) -> dict[str, Any]:
        return measure(path, ref, checked, pad_id, threads, calibration, speed_windows=probe, hybrid=hybrid, **kw)

    def gated(name: str, info: VariantInfo, limit: float | None, setting: str) -> bool:
        if limit is not None and (info.max_abs_delta_prob or 0.0) > limit:
            say(f"{name} variant left out: max |Δ risk| vs fp32 {info.max_abs_delta_prob:.3g} > "
                f"export.{setting} {limit:g}")
            return False
        out[name] = info
        return True

    def error(path: Path) -> float:
        """max |Δ risk| vs fp32 on the checked windows, without timing (for variants not meant for this CPU)."""
        got = served_risk(logits(session(path, threads), checked, pad_id), checked, pad_id, calibration, hybrid)
        return float(np.max(np.abs(got - ref)))

    out["fp32"] = VariantInfo(file=MODEL_FILES["fp32"], method="torch.onnx export (TorchScript)", **measured(fp32))
    if settings.fused:
        fused = out_dir / MODEL_FILES["fused"]
        cfg = getattr(model, "config", None)
        try:
            stats = fuse(fp32, fused, getattr(cfg, "num_attention_heads", 0), getattr(cfg, "hidden_size", 0))
            if model is not None:
                parity = check_parity(model, fused, probe, pad_id, settings.parity_tolerance)
            else:  # no PyTorch model at hand (an existing bundle): the fp32 graph is the reference
                parity = error(fused)
                if parity > settings.parity_tolerance:
                    raise ExportError(f"fused graph: max |Δ risk| vs fp32 {parity:.3g} > {settings.parity_tolerance:g}")
            ops = ", ".join(f"{k} x{v}" for k, v in stats.items())
            against = "PyTorch" if model is not None else "fp32 ONNX"
            out["fused"] = VariantInfo(file=MODEL_FILES["fused"], **measured(fused),
                                       method=f"ORT transformer optimizer ({ops}); parity vs {against} {parity:.2e}")
        except (ValueError, ExportError) as exc:
            fused.unlink(missing_ok=True)
            say(f"fused variant left out: {str(exc)[:300]}")
    if settings.fused_fp16:
        half = out_dir / MODEL_FILES["fused-fp16"]
        cfg = getattr(model, "config", None)
        try:
            stats = build_fused_fp16(fp32, half, getattr(cfg, "num_attention_heads", 0), getattr(cfg, "hidden_size", 0),
                                     settings.fused_fp16_attention)
            info = VariantInfo(file=MODEL_FILES["fused-fp16"], max_abs_delta_prob=error(half),
                               method=fused_fp16_method(stats, f"fp32 ONNX, {len(checked)} windows"))
            if not gated("fused-fp16", info, settings.fused_fp16_max_delta_prob, "fused_fp16_max_delta_prob"):
                half.unlink()
        except ValueError as exc:
            half.unlink(missing_ok=True)
            say(f"fused-fp16 variant left out: {str(exc)[:300]}")
    if settings.int8:
        int8 = out_dir / MODEL_FILES["int8"]
        if settings.int8_method == "static":
            calib_windows = calibration_windows(pool, probe, settings.int8_calibration_windows)
            src = out_dir / MODEL_FILES["fused"] if settings.int8_from_fused and "fused" in out else fp32
            quantise_static(src, int8, calib_windows, settings.int8_op_types or ["MatMul"], settings.int8_per_channel)
            graph = "fused" if src != fp32 else "fp32"
            method = f"static QDQ ({graph} graph, {len(calib_windows)} calibration windows)"
        elif settings.int8_method == "nbits":
            quantise_nbits(fp32, int8, 8, settings.int8_block_size, 4, settings.int8_symmetric)
            method = (f"MatMulNBits weight-only 8-bit, block {settings.int8_block_size}, "
                      f"{'symmetric' if settings.int8_symmetric else 'asymmetric'}, int8 compute (accuracy_level 4)")
        else:
            quantise_int8(fp32, int8, settings.int8_op_types, settings.int8_per_channel)
            method = "dynamic (weights int8, activations quantised per batch)"
        info = VariantInfo(file=MODEL_FILES["int8"], method=method, **measured(int8))
        if not gated("int8", info, settings.int8_max_delta_prob, "int8_max_delta_prob"):
            int8.unlink()
    if settings.bf16:
        from groomguard.serving.backends.openvino import native_bf16, openvino_version

        if native_bf16():
            runtime = f"openvino {openvino_version()}"
            info = VariantInfo(file=MODEL_FILES["bf16"], method=f"{runtime} CPU plugin, bf16 inference precision "
                               "(model.onnx; matrix products in bf16, fp32 accumulation)",
                               **measured(fp32, sess=bf16_session(fp32, threads), runtime=runtime))
            gated("bf16", info, settings.bf16_max_delta_prob, "bf16_max_delta_prob")
        else:
            say("bf16 variant not measured: needs the openvino package and a CPU with native bf16 (AMX / AVX512-BF16)")
    for name, info in out.items():
        speeds = ", ".join(f"batch {b}: {v:.1f}" for b, v in info.windows_per_s.items()) or "not timed (GPU variant)"
        say(f"variant {name}: max |Δ risk| vs fp32 {info.max_abs_delta_prob:.2e} on {len(checked)} windows, "
            f"windows/s {speeds}")
    return out
