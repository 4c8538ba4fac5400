"""`python -m benchmarks.gpu run`: the engine-side rows (the card, the embedded engine per GPU variant with
I/O binding off and on, two streams, the bare session fed from device memory, risk parity on the card, and
the naive `transformers` baseline). Serving rows (Triton, the gateway) are in benchmarks/gpu_serving.py.

Every row is {"path", "model", "batch", "input", "windows_per_s"}; `path` names the provider the session
really got (a GPU build without a usable GPU falls back to the CPU, and the row must say so).
"""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suite_engine import fixed_length, rate
from groomguard.bundle import MODEL_FILES, Bundle, Variant
from groomguard.serving.backends.onnxruntime import GPU_PROVIDERS, open_session
from groomguard.serving.engine import ScoringEngine, build_backend
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import CPU
from groomguard.training.export.fp16 import FP16_TOLERANCE

LENGTHS = (64, 128, 256)


def short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def card() -> dict[str, Any]:
    """What the numbers were measured on: every figure in docs names the card through this."""
    info: dict[str, Any] = {"python": sys.version.split()[0]}
    try:
        q = "name,driver_version,memory.total,clocks.max.sm"
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"],
                                            capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        info["nvidia_smi"] = f"unavailable: {exc.__class__.__name__}"
    try:
        import torch

        info["torch"] = torch.__version__
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except ImportError:
        info["torch"] = "not installed"
        info["gpu"] = info["nvidia_smi"].split(",")[0] if "," in info["nvidia_smi"] else "none"
    try:
        import onnxruntime as ort

        info["onnxruntime"], info["providers"] = ort.__version__, ort.get_available_providers()
    except ImportError:
        info["onnxruntime"] = "not installed"
    return info


def gpu_backend(bundle: Bundle, provider: str, variant: Variant, io_binding: str = "auto") -> Any:
    """The engine's backend for `variant` on `provider` (named, never `auto`: the subset bundle has no fp32)."""
    return build_backend(bundle, EngineConfig(variant=variant, providers=list(dict.fromkeys([provider, CPU])),
                                              io_binding=io_binding))  # type: ignore[arg-type]


def engine_rows(bundle: Bundle, provider: str, variant: Variant, windows: list[list[int]], seconds: float,
                batches: tuple[int, ...]) -> list[dict[str, Any]]:
    """The embedded engine (`ScoringEngine`: pad, run, calibrate) on the sampled windows and at each S, with
    I/O binding off and on; one ONNX Runtime session per setting."""
    rows = []
    sets = [("windows", windows)] + [(f"S={s}", fixed_length(windows, s)) for s in LENGTHS]
    for io in ("off", "on"):
        backend = gpu_backend(bundle, provider, variant, io)
        if backend.provider != provider:
            return [{"path": f"engine ({provider})", "error": f"session fell back to {backend.provider}"}]
        label = f"engine {short(provider)}" + (", I/O binding" if io == "on" else "")
        for batch in batches:
            engine = ScoringEngine(bundle, backend, max_batch_size=batch)
            for name, ws in sets:
                ws = ws[: max(64, min(len(ws), batch * 2))] if batch == 1 else ws
                engine.score_windows(ws[: batch * 2])  # warm-up: kernels and allocations for this shape
                rows.append({"path": label, "model": MODEL_FILES[variant], "batch": batch, "input": name,
                             "windows_per_s": round(rate(partial(engine.score_windows, ws), len(ws), seconds), 1)})
        backend.close()
    return rows


def stream_rows(bundle: Bundle, provider: str, variant: Variant, windows: list[list[int]], seconds: float,
                batches: tuple[int, ...], streams: int = 2) -> list[dict[str, Any]]:
    """Two batches in flight (`engine.streams`): the host pads the next batch while the card runs one."""
    backend = gpu_backend(bundle, provider, variant)
    ws = fixed_length(windows, 128)
    rows = []
    for batch in batches:
        engine = ScoringEngine(bundle, backend, max_batch_size=batch, streams=streams)
        engine.score_windows(ws[: batch * streams])
        rows.append({"path": f"engine {short(backend.provider)}, {streams} streams"
                             + (", I/O binding" if backend.io_binding else ""),
                     "model": MODEL_FILES[variant], "batch": batch, "input": "S=128",
                     "windows_per_s": round(rate(partial(engine.score_windows, ws), len(ws), seconds), 1)})
    backend.close()
    return rows


def session_rows(bundle: Bundle, provider: str, variant: Variant, batch: int,
                 seconds: float) -> list[dict[str, Any]]:
    """The bare session fed from device memory (inputs bound once, output left there): the card's ceiling
    for this graph without padding, host copies or calibration, at each S."""
    import onnxruntime as ort

    sess = open_session(bundle.model_path(variant), [provider])  # the CPU provider comes last, as served
    device = "cuda" if sess.get_providers()[0] in GPU_PROVIDERS else "cpu"
    names = bundle.manifest.onnx.inputs
    rows = []
    for length in LENGTHS:
        ids = np.random.default_rng(0).integers(1000, 20000, size=(batch, length), dtype=np.int64)
        binding = sess.io_binding()
        binding.bind_ortvalue_input(names[0], ort.OrtValue.ortvalue_from_numpy(ids, device, 0))
        binding.bind_ortvalue_input(names[1], ort.OrtValue.ortvalue_from_numpy(np.ones_like(ids), device, 0))
        binding.bind_output(bundle.manifest.onnx.output, device)
        for _ in range(3):
            sess.run_with_iobinding(binding)
        rows.append({"path": f"{variant} session, inputs on the {device} (I/O binding)",
                     "model": MODEL_FILES[variant], "batch": batch, "input": f"S={length}",
                     "windows_per_s": round(rate(partial(sess.run_with_iobinding, binding), batch, seconds), 1)})
    return rows


def parity(bundle: Bundle, provider: str, variant: Variant, doc: dict[str, Any]) -> dict[str, Any]:
    """`variant` through the engine on the card against the fp32 risks computed on the CPU at `prepare`:
    the fp16 gate's GPU half (the export gated on the CPU; the CUDA kernels' own fp16 arithmetic shows here)."""
    engine = ScoringEngine(bundle, gpu_backend(bundle, provider, variant), max_batch_size=32)
    out: dict[str, Any] = {"provider": engine.backend.provider, "tolerance": FP16_TOLERANCE}  # type: ignore[attr-defined]
    for key in ("parity", "windows"):
        gpu = engine.score_windows(doc[key])
        out[f"n_{key}"] = len(gpu)
        cpu = np.asarray(doc["cpu_fp32_risk"][key][: len(gpu)])
        out[f"max_abs_delta_risk_{key}"] = float(np.max(np.abs(gpu - cpu)))
    out["within_tolerance"] = max(out["max_abs_delta_risk_parity"], out["max_abs_delta_risk_windows"]) <= FP16_TOLERANCE
    info = bundle.manifest.variants.get(variant)
    out["recorded_cpu_delta"] = info.max_abs_delta_prob if info else None
    engine.close()
    return out


def naive_rows(config: Path, tokenizer: Path, texts: list[str], max_length: int,
               seconds: float) -> list[dict[str, Any]]:
    """transformers on the same card: the pipeline on window texts, and the bare forward at S=128."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification, PreTrainedTokenizerFast, pipeline

    tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer), pad_token="[PAD]", cls_token="[CLS]",
                                  sep_token="[SEP]", unk_token="[UNK]")
    rows = []
    cuda = torch.cuda.is_available()  # CPU only when the script itself is being checked without a GPU
    for dtype in (torch.float32, torch.float16) if cuda else (torch.float32,):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(str(config)))
        model = model.to("cuda" if cuda else "cpu", dtype=dtype).eval()
        name = f"torch {str(dtype).removeprefix('torch.')}"
        clf = pipeline("text-classification", model=model, tokenizer=tok, device=0 if cuda else -1)
        for batch in (32, 256):
            clf(texts[:batch], batch_size=batch, truncation=True, max_length=max_length)
            rows.append({"path": "naive transformers pipeline (random weights)", "model": name, "batch": batch,
                         "input": "windows", "windows_per_s": round(rate(
                             partial(clf, texts, batch_size=batch, truncation=True, max_length=max_length),
                             len(texts), seconds), 1)})
        ids = torch.randint(1000, 20000, (1024 if cuda else 32, 128), device="cuda" if cuda else "cpu")
        mask = torch.ones_like(ids)

        def forward(m: Any = model, i: Any = ids, a: Any = mask) -> None:
            with torch.inference_mode():
                m(input_ids=i, attention_mask=a)
            if cuda:
                torch.cuda.synchronize()

        forward()
        rows.append({"path": "transformers model forward (random weights)", "model": name, "batch": len(ids),
                     "input": "S=128", "windows_per_s": round(rate(forward, len(ids), seconds), 1)})
        del clf, model
        if cuda:
            torch.cuda.empty_cache()
    return rows
