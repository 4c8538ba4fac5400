"""`python -m benchmarks.gpu`: the scoring engine, Triton and the gateway on a GPU, beside a naive
`transformers` baseline on the same card, and the served GPU variants' risks against fp32 on the CPU.

A GPU machine is lent rarely and holds no project environment, so the work is split in two:

    # here, where the bundle was built (CPU): the GPU variants' subset, the windows, CPU fp32 risks
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.gpu prepare --out var/gpu-input
    # on the GPU machine, one process, one JSON (docs/performance.md "Issue 27" lists what it needs)
    python -m benchmarks.gpu run --input var/gpu-input --out gpu.json --providers CUDAExecutionProvider
    # back here: the table into docs/performance.md (every number from that JSON, naming the card)
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.gpu render gpu.json --doc docs/performance.md

`prepare` adds to a copy of the bundle the GPU variants it lacks, each gated on the CPU at 0.01 against
fp32 (`fp16`: training/export/fp16.py; `fused-fp16`: attention fused by ONNX Runtime's transformer
optimizer, then fp16, training/export/fused_fp16.py). `run` measures, per `--parts` (default all):
`engine` - the groomguard engine per GPU variant on each provider at batch 1 / 32 / 256 / 1024 on the
sampled windows and at S = 64 / 128 / 256, with I/O binding off and on, two streams at S=128, and each
variant's max |Δ risk| on the card against the CPU fp32 risks (the fp16 gate's GPU half); `iobinding` -
the bare session fed from device memory (the card's ceiling); `triton` - the PyTriton server `groomguard
triton serve` starts, with the engine's backend on the GPU as its callable and Triton's dynamic batcher,
over gRPC and HTTP at batch 1 and under concurrency, against the engine in the same run
(benchmarks/gpu_serving.py); `gateway` - `groomguard serve --backend triton` in front of it; `naive` -
transformers' pipeline and bare forward, fp32 and fp16, random weights (speed does not depend on them).
A part whose dependencies or provider are missing is reported as not measured, never guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.report import replace_section
from groomguard.bundle import MANIFEST, MODEL_FILES, TOKENIZER, Bundle, Variant, sha256_file
from groomguard.errors import BundleError
from groomguard.lexical import LEXICAL_FILE
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import choose_variant

BATCHES = (1, 32, 256, 1024)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
VARIANTS: tuple[Variant, ...] = ("fp16", "fused-fp16")  # today's GPU variant, then issue 27's
PARTS = "engine,iobinding,triton,gateway,naive"
TARGET = 70_000  # windows/s, engine at S=128 (issue 27: twice issue 12's H100 run, 35,165)
TRITON_SHARE = 0.8  # Triton's best rate as a share of the engine's (issue 27)


# -- prepare (CPU, where the bundle lives) -------------------------------------------------------
def prepare(bundle_dir: Path, data: Path, checkpoint: Path, out: Path, n: int, seed: int,
            variants: tuple[Variant, ...] = VARIANTS, attention: str = "Attention") -> None:
    """The GPU variants' subset of the bundle, `n` sampled windows with their texts, a few conversations
    for the gateway, and fp32 CPU risks."""
    from benchmarks.suite_engine import Ctx, engine_for, load_conversations, sample_windows
    from groomguard.evaluation.windows_text import conversation_windows
    from groomguard.training.export.fp16 import add_fp16_variant, generated_parity_windows
    from groomguard.training.export.fused_fp16 import add_fused_fp16_variant

    bundle = Bundle.load(bundle_dir)
    notes: dict[str, str] = {}
    if missing := [v for v in variants if MODEL_FILES[v] not in bundle.manifest.files]:
        full = out / "bundle-with-gpu-variants"
        shutil.rmtree(full, ignore_errors=True)
        shutil.copytree(bundle_dir, full)
        for v in missing:  # gated on the CPU as the export gates them; a failure is a result, not a crash
            try:
                got = add_fp16_variant(full) if v == "fp16" else add_fused_fp16_variant(full, attention=attention)
                print(f"{v} variant: max |Δ risk| vs fp32 {got.max_abs_delta_prob:.2e} on {got.n_windows} windows")
            except (BundleError, ValueError) as exc:
                notes[v] = f"left out at prepare: {exc}"
                print(f"{v} variant {notes[v]}")
        bundle_dir, bundle = full, Bundle.load(full)
    present = [v for v in variants if MODEL_FILES[v] in bundle.manifest.files]
    if not present:
        raise SystemExit(f"error: no GPU variant passed its gate ({notes})")
    sub = out / "bundle"
    shutil.rmtree(sub, ignore_errors=True)
    sub.mkdir(parents=True)
    lexical = [LEXICAL_FILE] if LEXICAL_FILE in bundle.manifest.files else []  # the engine combines it
    for name in (MANIFEST, TOKENIZER, *lexical, *(MODEL_FILES[v] for v in present)):
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
    gateway = [{"conversation_id": f"gpu-{i}",
                "messages": [{"author": x.author, "text": x.text} for x in c.messages[:40]]}
               for i, c in enumerate(convs[:32])]
    doc = {"model_ref": m.model_ref, "data": str(data), "variants": present, "prepare_notes": notes,
           "windows": windows, "texts": texts, "parity": parity, "conversations": gateway,
           "cpu_fp32_risk": {"windows": engine.score_windows(windows).tolist(),
                             "parity": engine.score_windows(parity).tolist()}}
    (out / "windows.json").write_text(json.dumps(doc), encoding="utf-8")
    size = sum((sub / MODEL_FILES[v]).stat().st_size for v in present) / 2**20
    print(f"-> {out}: {len(windows)} windows, {len(parity)} parity windows, {', '.join(present)} "
          f"({size:.0f} MiB of models)")


# -- run (the GPU machine) -----------------------------------------------------------------------
def load_subset(path: Path, variants: list[Variant]) -> Bundle:
    """The bundle without its CPU variants: the files that are present must match bundle.json."""
    bundle = Bundle.load(path, verify=False)
    lexical = [LEXICAL_FILE] if LEXICAL_FILE in bundle.manifest.files else []
    for name in (TOKENIZER, *lexical, *(MODEL_FILES[v] for v in variants)):
        if sha256_file(path / name) != bundle.manifest.files.get(name):
            raise SystemExit(f"error: {path / name}: sha256 differs from bundle.json")
    return bundle


def _try(result: dict[str, Any], key: str, fn: Any, *args: Any) -> Any:
    """fn(*args), or None with the failure recorded under providers_not_measured[key]."""
    try:
        return fn(*args)
    except Exception as exc:  # a provider or part that cannot run is a result, not a crash
        result["providers_not_measured"][key] = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        return None


def run(inp: Path, quick: bool, parts: set[str], providers: tuple[str, ...] = GPU_PROVIDERS) -> dict[str, Any]:
    from benchmarks.gpu_rows import card, engine_rows, naive_rows, parity, session_rows, stream_rows
    from groomguard.serving.backends.onnxruntime import preload_gpu_libraries

    t0 = time.perf_counter()
    preload_gpu_libraries(providers)  # so onnxruntime-gpu finds cuBLAS/cuDNN in this process
    seconds = 0.3 if quick else 1.0
    batches, big = ((1, 32), 32) if quick else (BATCHES, BATCHES[-1])
    doc = json.loads((inp / "windows.json").read_text(encoding="utf-8"))
    if quick:  # a check of the script (e.g. on a CPU), not a measurement
        doc["windows"], doc["texts"], doc["parity"] = doc["windows"][:64], doc["texts"][:64], doc["parity"][:32]
    variants: list[Variant] = doc.get("variants", ["fp16"])
    bundle = load_subset(inp / "bundle", variants if parts - {"naive"} else [])
    result: dict[str, Any] = {"created_at": datetime.now(timezone.utc).isoformat(), "machine": card(),
                              "bundle": bundle.manifest.model_ref, "data": doc["data"], "variants": variants,
                              "windows": len(doc["windows"]), "parts": sorted(parts),
                              "mean_window_tokens": sum(map(len, doc["windows"])) / len(doc["windows"]),
                              "rows": [], "providers_not_measured": dict(doc.get("prepare_notes", {})),
                              "parity": {}, "triton": {}, "auto_variant": {}}
    rows = result["rows"]
    last = providers[-1]  # the provider parity, the bare session and the serving parts run on
    for provider in providers if "engine" in parts else ():
        result["auto_variant"][provider] = choose_variant(bundle.manifest, provider, EngineConfig().auto_max_delta_prob)
        for v in variants:
            rows += _try(result, f"engine ({provider}, {v})", engine_rows, bundle, provider, v, doc["windows"],
                         seconds, batches) or []
            rows += _try(result, f"engine streams ({provider}, {v})", stream_rows, bundle, provider, v,
                         doc["windows"], seconds, batches[-2:]) or []
    for v in variants if "engine" in parts else ():
        result["parity"][v] = _try(result, f"parity ({v})", parity, bundle, last, v, doc) or {"error": "see above"}
    for v in variants if "iobinding" in parts else ():
        rows += _try(result, f"I/O binding session ({v})", session_rows, bundle, last, v, big, seconds) or []
    if "triton" in parts:
        from benchmarks.gpu_serving import serving_rows

        for v in variants:  # the gateway in front of the last variant only (fused-fp16 when present)
            got = _try(result, f"triton ({v})", serving_rows, bundle, last, v, doc["windows"], seconds, quick,
                       parts if v == variants[-1] else parts - {"gateway"}, doc.get("conversations") or [])
            if got:
                rows += got[0]
                result["triton"][v] = got[1]
    if "naive" in parts:
        rows += _try(result, "naive", naive_rows, inp / "model-config.json", inp / "bundle" / TOKENIZER,
                     doc["texts"], bundle.manifest.max_length, seconds) or []
    for row in [r for r in rows if "error" in r]:
        result["providers_not_measured"][row["path"]] = row["error"]
    result["rows"] = [r for r in rows if "error" not in r]
    result |= summary(result["rows"])
    result["seconds"] = time.perf_counter() - t0
    return result


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Issue 27's figures from the rows: the best engine rate at S=128 (per model file) and Triton's best
    as a share of the engine's best for the same file."""
    def best(prefix: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in rows:
            if r["path"].startswith(prefix) and r["input"] == "S=128":
                out[r["model"]] = max(out.get(r["model"], 0.0), r["windows_per_s"])
        return out

    engine, triton = best("engine"), best("triton")
    return {"best_engine_s128": max(engine.values(), default=None), "best_engine_s128_by_model": engine,
            "best_triton_s128_by_model": triton, "target_s128": TARGET, "triton_share_target": TRITON_SHARE,
            "triton_share_of_engine": {m: round(t / engine[m], 3) for m, t in triton.items() if engine.get(m)}}


# -- render (back here) --------------------------------------------------------------------------
def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of `--parts` on one machine as one result (the first run's machine and header)."""
    out = dict(results[0])
    for r in results[1:]:
        out["rows"] = out["rows"] + r["rows"]
        for key in ("providers_not_measured", "parity", "triton", "auto_variant"):
            out[key] = {**out.get(key, {}), **r.get(key, {})}
    figures = summary(out["rows"])
    figures |= {k: out[k] for k in ("target_s128", "triton_share_target") if k in out}  # the run's own targets
    return out | figures


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"Run {result['created_at'][:19]}Z on **{m.get('gpu', '?')}** ({m.get('nvidia_smi', '')}); "
             f"onnxruntime {m['onnxruntime']}, torch {m.get('torch', '-')}, Python {m['python']}. "
             f"Bundle `{result['bundle']}`; {result['windows']} windows from {result['data']} "
             f"(mean {result['mean_window_tokens']:.0f} tokens). Generated by `python -m benchmarks.gpu`.", "",
             "| path | model | batch | input | windows/s |", "|---|---|---|---|---|"]
    lines += [f"| {r['path']} | {r['model']} | {r['batch']} | {r['input']} | {r['windows_per_s']:,.0f} |"
              for r in result["rows"]]
    parities = result.get("parity", {})
    if "provider" in parities:  # a run from before issue 27: one fp16 figure
        parities = {"fp16": {**parities, "recorded_cpu_delta": parities.get("recorded_fp16_cpu_delta")}}
    for variant, p in parities.items():
        if "error" in p:
            lines += ["", f"{variant} parity not measured: {p['error']}"]
            continue
        worst, limit = max(p["max_abs_delta_risk_parity"], p["max_abs_delta_risk_windows"]), p.get("tolerance", 0.01)
        recorded, verdict = p.get("recorded_cpu_delta"), "within" if worst <= limit else "OVER"
        lines += ["", f"{variant} on {p['provider']} vs fp32 on CPU, max |Δ risk|: "
                      f"{p['max_abs_delta_risk_parity']:.4f} on {p['n_parity']} parity windows, "
                      f"{p['max_abs_delta_risk_windows']:.4f} on {p['n_windows']} sampled windows ({verdict} the "
                      f"{limit:g} gate; the CPU gate recorded {'-' if recorded is None else f'{recorded:.4f}'})."]
    for variant, t in result.get("triton", {}).items():
        shares = ", ".join(f"{k}: {v:.0%}" for k, v in t.get("share_of_engine", {}).items() if v is not None)
        lines += ["", f"Triton ({variant}, server on {t.get('server_provider', '?')}, max_batch_size "
                      f"{t.get('max_batch_size', '?')}) as a share of the engine, same mode: {shares or '-'}."
                      + (f" Gateway {t['gateway']}." if "gateway" in t else "")]
    for provider, why in result.get("providers_not_measured", {}).items():
        lines += ["", f"Not measured: {provider}: {why}"]
    best = result.get("best_engine_s128")
    if best is not None:
        verdict = "meets" if best >= result["target_s128"] else "misses"
        lines += ["", f"Best engine rate at S=128: **{best:,.0f} windows/s** ({verdict} the "
                      f"{result['target_s128']:,} target)."]
    for model, share in result.get("triton_share_of_engine", {}).items():
        verdict = "meets" if share >= result["triton_share_target"] else "misses"
        lines += ["", f"Triton's best at S=128 with {model}: **{share:.0%}** of the engine's best ({verdict} the "
                      f"{result['triton_share_target']:.0%} target)."]
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
    p.add_argument("--variants", default=",".join(VARIANTS), help="GPU variants to carry (fp16, fused-fp16)")
    p.add_argument("--attention", choices=("Attention", "MultiHeadAttention"), default="Attention",
                   help="fused-fp16's attention op, when prepare builds it")
    r = sub.add_parser("run", help="on the GPU machine: measure and write JSON")
    r.add_argument("--input", type=Path, default=Path("var/gpu-input"))
    r.add_argument("--out", type=Path, default=Path("gpu.json"))
    r.add_argument("--quick", action="store_true", help="shorter timings")
    r.add_argument("--parts", default=PARTS, help=f"comma-separated subset of {PARTS}")
    r.add_argument("--providers", default=",".join(GPU_PROVIDERS),
                   help="ONNX Runtime providers to measure the engine on, in turn; the last also runs parity, the "
                        "bare session and Triton (CPUExecutionProvider checks the script on a machine without a GPU)")
    d = sub.add_parser("render", help="write a run's table into a Markdown file's gpu section")
    d.add_argument("result", type=Path, nargs="+", help="run outputs of one machine (rows are concatenated)")
    d.add_argument("--doc", type=Path, default=Path("docs/performance.md"))
    d.add_argument("--marker", default="gpu", help="the section's marker in --doc (<!-- MARKER:start -->)")
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        wanted = tuple(v for v in args.variants.split(",") if v)
        if bad := [v for v in wanted if v not in VARIANTS]:
            ap.error(f"--variants: unknown {bad}; choose from {', '.join(VARIANTS)}")
        prepare(args.bundle, args.data, args.checkpoint, args.out, args.n, args.seed, wanted,  # type: ignore[arg-type]
                args.attention)
    elif args.cmd == "run":
        parts = set(args.parts.split(","))
        if unknown := parts - set(PARTS.split(",")):
            ap.error(f"--parts: unknown {sorted(unknown)}; choose from {PARTS}")
        result = run(args.input, args.quick, parts, tuple(args.providers.split(",")))
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(render(result))
    else:
        table = render(merge([json.loads(f.read_text(encoding="utf-8")) for f in args.result]))
        replace_section(args.doc, table, marker=args.marker)
        print(table)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    raise SystemExit(main())
