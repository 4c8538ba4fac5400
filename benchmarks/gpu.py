"""`python -m benchmarks.gpu`: the scoring engine on a GPU beside a naive `transformers` baseline on the
same GPU, and the served GPU variant's risks against fp32 on CPU.

A GPU machine is lent rarely and holds no project environment, so the work is split in two:

    # here, where the bundle was built (CPU): the fp16 bundle subset, the windows, CPU fp32 risks
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.gpu prepare --out var/gpu-input
    # on the GPU machine (needs numpy, pydantic, tokenizers, onnxruntime-gpu, groomguard; torch and
    # transformers for the baseline), then back here to write the table into docs/performance.md
    python -m benchmarks.gpu run --input var/gpu-input --out gpu.json
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.gpu render gpu.json --doc docs/performance.md

`run` measures, in one process on one card: the groomguard engine (`ScoringEngine`, `engine.variant:
auto`, which serves fp16 on a GPU provider) through ONNX Runtime's TensorRT and CUDA providers at batch
1 / 32 / 256 / 1024 on the sampled windows and at S = 64 / 128 / 256; the same session fed from GPU
memory (I/O binding: the card's ceiling without host copies); the naive baseline (transformers'
text-classification pipeline on the window texts, and the bare model forward, fp32 and fp16) with the
fine-tuned model's architecture and random weights, since speed does not depend on weight values; and
the max |Δ risk| of fp16-on-GPU against fp32-on-CPU on the parity windows and the sampled windows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import replace_section
from benchmarks.suite_engine import fixed_length, rate
from groomguard.bundle import MANIFEST, MODEL_FILES, TOKENIZER, Bundle, sha256_file
from groomguard.serving.engine import ScoringEngine, build_backend
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import CPU, choose_variant

BATCHES = (1, 32, 256, 1024)
LENGTHS = (64, 128, 256)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
TARGET = 20_000  # windows/s at S=128 (issue 12)


# -- prepare (CPU, where the bundle lives) -------------------------------------------------------
def prepare(bundle_dir: Path, data: Path, checkpoint: Path, out: Path, n: int, seed: int) -> None:
    """The fp16 subset of the bundle, `n` sampled windows with their texts, and fp32 CPU risks."""
    from benchmarks.suite_engine import Ctx, engine_for, load_conversations, sample_windows
    from groomguard.evaluation.windows_text import conversation_windows
    from groomguard.training.export.fp16 import generated_parity_windows

    bundle = Bundle.load(bundle_dir)
    if MODEL_FILES["fp16"] not in bundle.manifest.files:  # the GPU variant, parity-checked on CPU as export does
        from groomguard.training.export.fp16 import add_fp16_variant

        full = out / "bundle-with-fp16"
        shutil.rmtree(full, ignore_errors=True)
        shutil.copytree(bundle_dir, full)
        result = add_fp16_variant(full)
        print(f"fp16 variant: max |Δ risk| vs fp32 {result.max_abs_delta_prob:.2e} on {result.n_windows} windows")
        bundle_dir, bundle = full, Bundle.load(full)
    sub = out / "bundle"
    sub.mkdir(parents=True, exist_ok=True)
    for name in (MANIFEST, TOKENIZER, MODEL_FILES["fp16"]):
        shutil.copyfile(bundle_dir / name, sub / name)
    if (checkpoint / "config.json").is_file():  # the baseline's architecture; without it, no baseline rows
        shutil.copyfile(checkpoint / "config.json", out / "model-config.json")
    convs = load_conversations(data, 200, seed)
    windows = sample_windows(bundle, convs, n, seed)
    windower = bundle.windower()
    texts = [t for c in convs for t in conversation_windows(windower, c, windower.window_ends(len(c.messages)))][:n]
    m = bundle.manifest
    parity = generated_parity_windows(windower.tokenizer.get_vocab_size(), m.max_length, 256, seed=0,
                            prefix=tuple(windower.prefix), suffix=tuple(windower.suffix))
    engine = engine_for(Ctx(bundle_dir, 0, 0.0, ["CPUExecutionProvider"]), "fp32", 32)
    doc = {"model_ref": m.model_ref, "data": str(data), "windows": windows, "texts": texts, "parity": parity,
           "cpu_fp32_risk": {"windows": engine.score_windows(windows).tolist(),
                             "parity": engine.score_windows(parity).tolist()}}
    (out / "windows.json").write_text(json.dumps(doc), encoding="utf-8")
    print(f"-> {out}: {len(windows)} windows, {len(parity)} parity windows, fp16 model "
          f"{(sub / MODEL_FILES['fp16']).stat().st_size / 2**20:.0f} MiB")


# -- run (the GPU machine) -----------------------------------------------------------------------
def load_subset(path: Path, with_model: bool) -> Bundle:
    """The bundle without its CPU variants: the files that are present must match bundle.json."""
    bundle = Bundle.load(path, verify=False)
    for name in (TOKENIZER, MODEL_FILES["fp16"]) if with_model else (TOKENIZER,):
        if sha256_file(path / name) != bundle.manifest.files[name]:
            raise SystemExit(f"error: {path / name}: sha256 differs from bundle.json")
    return bundle


def card() -> dict[str, Any]:
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
    try:
        import onnxruntime as ort

        info["onnxruntime"], info["providers"] = ort.__version__, ort.get_available_providers()
    except ImportError:
        info["onnxruntime"] = "not installed"
    return info


def engine_rows(bundle: Bundle, provider: str, windows: list[list[int]], seconds: float,
                batches: tuple[int, ...]) -> list[dict[str, Any]]:
    # fp16 pinned: `auto` resolves to it on a GPU provider (asserted below) but would fall back to
    # fp32, absent from this subset, if the session fell back to the CPU.
    auto = choose_variant(bundle.manifest, provider, EngineConfig().auto_max_delta_prob)
    if provider != CPU and auto != "fp16":
        raise SystemExit(f"error: engine.variant auto picks {auto} on {provider}, expected fp16")
    backend = build_backend(bundle, EngineConfig(variant="fp16", providers=list(dict.fromkeys([provider, CPU]))))
    used = getattr(backend, "provider", "?")
    if used != provider:
        return [{"path": f"engine ({provider})", "error": f"session fell back to {used}"}]
    variant = Path(getattr(backend, "model_path", "?")).name
    sets = [("windows", windows)] + [(f"S={s}", fixed_length(windows, s)) for s in LENGTHS]
    rows = []
    for batch in batches:
        engine = ScoringEngine(bundle, backend, max_batch_size=batch)
        for label, ws in sets:
            ws = ws[: max(64, min(len(ws), batch * 2))] if batch == 1 else ws
            engine.score_windows(ws[: batch * 2])  # warm-up: kernels and allocations for this shape
            rows.append({"path": f"engine {provider.removesuffix('ExecutionProvider')}", "model": variant,
                         "batch": batch, "input": label,
                         "windows_per_s": round(rate(lambda e=engine, w=ws: e.score_windows(w), len(ws), seconds), 1)})
    return rows


def iobinding_row(bundle: Bundle, provider: str, length: int, batch: int, seconds: float) -> dict[str, Any]:
    """The same fp16 session fed from GPU memory: inference alone, without padding or host copies."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(bundle.model_path("fp16")), providers=[provider])
    device = "cuda" if provider == "CUDAExecutionProvider" else "cpu"
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, size=(batch, length), dtype=np.int64)
    binding = sess.io_binding()
    names = bundle.manifest.onnx.inputs
    binding.bind_ortvalue_input(names[0], ort.OrtValue.ortvalue_from_numpy(ids, device, 0))
    binding.bind_ortvalue_input(names[1], ort.OrtValue.ortvalue_from_numpy(np.ones_like(ids), device, 0))
    binding.bind_output(bundle.manifest.onnx.output, device)
    for _ in range(3):
        sess.run_with_iobinding(binding)
    per_s = rate(lambda: sess.run_with_iobinding(binding), batch, seconds)
    return {"path": f"fp16 session, inputs on the {device} (I/O binding)", "model": MODEL_FILES["fp16"],
            "batch": batch, "input": f"S={length}", "windows_per_s": round(per_s, 1)}


def parity(bundle: Bundle, provider: str, doc: dict[str, Any]) -> dict[str, Any]:
    cfg = EngineConfig(variant="fp16", providers=list(dict.fromkeys([provider, CPU])))
    engine = ScoringEngine(bundle, build_backend(bundle, cfg), max_batch_size=32)
    out: dict[str, Any] = {"provider": getattr(engine.backend, "provider", "?")}
    for key in ("parity", "windows"):
        gpu = engine.score_windows(doc[key])
        out[f"n_{key}"] = len(gpu)
        cpu = np.asarray(doc["cpu_fp32_risk"][key][: len(gpu)])
        out[f"max_abs_delta_risk_{key}"] = float(np.max(np.abs(gpu - cpu)))
    out["recorded_fp16_cpu_delta"] = bundle.manifest.variants["fp16"].max_abs_delta_prob
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
                             lambda b=batch, c=clf: c(texts, batch_size=b, truncation=True, max_length=max_length),
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


def run(inp: Path, quick: bool, parts: set[str], providers: tuple[str, ...] = GPU_PROVIDERS) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:  # load torch's CUDA libraries first so onnxruntime-gpu finds cuBLAS/cuDNN in the process
        import torch  # noqa: F401
    except ImportError:
        pass
    try:
        import onnxruntime as ort

        if "engine" in parts and hasattr(ort, "preload_dlls"):
            ort.preload_dlls()
    except ImportError:
        pass
    seconds = 0.3 if quick else 1.0
    batches, big = ((1, 32), 32) if quick else (BATCHES, BATCHES[-1])
    doc = json.loads((inp / "windows.json").read_text(encoding="utf-8"))
    if quick:  # a check of the script (e.g. on a CPU), not a measurement
        doc["windows"], doc["texts"], doc["parity"] = doc["windows"][:64], doc["texts"][:64], doc["parity"][:32]
    bundle = load_subset(inp / "bundle", "engine" in parts)
    result: dict[str, Any] = {"created_at": datetime.now(timezone.utc).isoformat(), "machine": card(),
                              "bundle": bundle.manifest.model_ref, "data": doc["data"],
                              "windows": len(doc["windows"]),
                              "mean_window_tokens": sum(map(len, doc["windows"])) / len(doc["windows"]),
                              "rows": [], "providers_not_measured": {}}
    for provider in providers if "engine" in parts else ():
        try:
            result["rows"] += engine_rows(bundle, provider, doc["windows"], seconds, batches)
        except Exception as exc:  # a provider that cannot start is a result, not a crash
            result["providers_not_measured"][provider] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
    for provider, why in list(result["providers_not_measured"].items()):
        print(f"{provider}: {why}", file=sys.stderr)
    for row in [r for r in result["rows"] if "error" in r]:
        result["providers_not_measured"][row["path"]] = row["error"]
    result["rows"] = [r for r in result["rows"] if "error" not in r]
    if "engine" in parts:
        try:
            result["parity"] = parity(bundle, providers[-1], doc)
        except Exception as exc:
            result["parity"] = {"error": f"{exc.__class__.__name__}: {str(exc)[:300]}"}
        try:
            result["rows"] += [iobinding_row(bundle, providers[-1], s, big, seconds) for s in LENGTHS]
        except Exception as exc:
            result["providers_not_measured"]["I/O binding"] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
    try:
        if "naive" in parts:
            result["rows"] += naive_rows(inp / "model-config.json", inp / "bundle" / TOKENIZER, doc["texts"],
                                         bundle.manifest.max_length, seconds)
    except Exception as exc:
        result["naive"] = f"not measured: {exc.__class__.__name__}: {str(exc)[:300]}"
    engine_128 = [r["windows_per_s"] for r in result["rows"]
                  if r["path"].startswith("engine") and r["input"] == "S=128"]
    result["best_engine_s128"] = max(engine_128, default=None)
    result["target_s128"] = TARGET
    result["seconds"] = time.perf_counter() - t0
    return result


# -- render (back here) --------------------------------------------------------------------------
def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of `--parts` on one machine as one result (the first run's machine and header)."""
    out = dict(results[0])
    for r in results[1:]:
        out["rows"] = out["rows"] + r["rows"]
        out["providers_not_measured"] = {**out.get("providers_not_measured", {}), **r.get("providers_not_measured", {})}
        for key in ("parity", "best_engine_s128"):
            if r.get(key) is not None:
                out[key] = r[key]
    return out


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"Run {result['created_at'][:19]}Z on **{m.get('gpu', '?')}** ({m.get('nvidia_smi', '')}); "
             f"onnxruntime {m['onnxruntime']}, torch {m.get('torch', '-')}, Python {m['python']}. "
             f"Bundle `{result['bundle']}`; {result['windows']} windows from {result['data']} "
             f"(mean {result['mean_window_tokens']:.0f} tokens). Generated by `python -m benchmarks.gpu`.", "",
             "| path | model | batch | input | windows/s |", "|---|---|---|---|---|"]
    lines += [f"| {r['path']} | {r['model']} | {r['batch']} | {r['input']} | {r['windows_per_s']:,.0f} |"
              for r in result["rows"]]
    p = result.get("parity", {})
    if "error" in p:
        lines += ["", f"Parity not measured: {p['error']}"]
    elif p:
        lines += ["", f"fp16 on {p['provider']} vs fp32 on CPU, max |Δ risk|: {p['max_abs_delta_risk_parity']:.4f} "
                      f"on {p['n_parity']} parity windows, {p['max_abs_delta_risk_windows']:.4f} on "
                      f"{p['n_windows']} sampled windows "
                      f"(the export recorded {p['recorded_fp16_cpu_delta']:.4f} for fp16 on CPU)."]
    for provider, why in result.get("providers_not_measured", {}).items():
        lines += ["", f"Not measured: {provider}: {why}"]
    best = result.get("best_engine_s128")
    if best is not None:
        verdict = "meets" if best >= result["target_s128"] else "misses"
        lines += ["", f"Best engine rate at S=128: **{best:,.0f} windows/s** ({verdict} the "
                      f"{result['target_s128']:,} target)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=(__doc__ or "").splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="on the CPU machine: bundle subset, windows, fp32 CPU risks")
    p.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    p.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"))
    p.add_argument("--checkpoint", type=Path, default=Path("var/train/demo/best"))
    p.add_argument("--out", type=Path, default=Path("var/gpu-input"))
    p.add_argument("-n", type=int, default=2048, help="sampled windows")
    p.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run", help="on the GPU machine: measure and write JSON")
    r.add_argument("--input", type=Path, default=Path("var/gpu-input"))
    r.add_argument("--out", type=Path, default=Path("gpu.json"))
    r.add_argument("--quick", action="store_true", help="shorter timings")
    r.add_argument("--parts", default="engine,naive", help="engine (ORT providers, I/O binding, parity), naive")
    r.add_argument("--providers", default=",".join(GPU_PROVIDERS),
                   help="ONNX Runtime providers to measure, in turn; the last also runs I/O binding and parity "
                        "(CPUExecutionProvider checks the script on a machine without a GPU)")
    d = sub.add_parser("render", help="write a run's table into a Markdown file's gpu section")
    d.add_argument("result", type=Path, nargs="+", help="run outputs of one machine (rows are concatenated)")
    d.add_argument("--doc", type=Path, default=Path("docs/performance.md"))
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.bundle, args.data, args.checkpoint, args.out, args.n, args.seed)
    elif args.cmd == "run":
        result = run(args.input, args.quick, set(args.parts.split(",")), tuple(args.providers.split(",")))
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(render(result))
    else:
        table = render(merge([json.loads(f.read_text(encoding="utf-8")) for f in args.result]))
        replace_section(args.doc, table, marker="gpu")
        print(table)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
