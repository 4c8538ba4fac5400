"""What the lexical head (groomguard/lexical.py) costs beside the transformer, on the same batches.

The engine computes the head's margins on the CPU for every batch it scores (serving/engine.py
`_outputs`), after the backend call. This times both on the same padded batches, in one process:
the backend's inference and the head's margins, at a few batch sizes, and says what share of the
engine's time the head takes. On a GPU the backend is ~400x faster than on 2 CPU cores, so the
head's windows/s on one core is the ceiling it would put on a GPU engine (issue 27).

    .venv/bin/python -m benchmarks.lexical_head --bundle models/bundles/demo --data data/demo/test.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from groomguard.bundle import Bundle
from groomguard.jsonl import iter_jsonl
from groomguard.serving.engine import build_backend
from groomguard.serving.engine_config import EngineConfig
from groomguard.window_plan import WindowPlan
from groomguard.windowing import pad_batch


def _rate(fn: object, batches: list[tuple[np.ndarray, np.ndarray]], n_windows: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for ids, mask in batches:
            fn(ids, mask)  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return n_windows / best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/demo/test.jsonl"))
    ap.add_argument("--windows", type=int, default=2048, help="windows timed (every prefix window, in order)")
    ap.add_argument("--batches", default="1,32,256")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest counts")
    ap.add_argument("--variant", default="fp32")
    args = ap.parse_args(argv)

    bundle = Bundle.load(args.bundle)
    hybrid = bundle.hybrid()
    if hybrid is None:
        raise SystemExit(f"error: {args.bundle}: the bundle has no lexical head (train with lexical.enabled)")
    windower = bundle.windower()
    plan = WindowPlan.of(windower, list(iter_jsonl(args.data)))
    windows = sorted(plan.windows[: args.windows], key=len)  # length-sorted, as the engine batches
    backend = build_backend(bundle, EngineConfig(variant=args.variant))  # type: ignore[arg-type]
    out: dict[str, object] = {"bundle": bundle.manifest.model_ref, "windows": len(windows),
                              "features": hybrid.head.n_features, "ngram_max": hybrid.head.ngram_max,
                              "variant": args.variant, "by_batch": {}}
    try:
        for b in (int(x) for x in args.batches.split(",")):
            batches = [(p.input_ids, p.attention_mask) for p in
                       (pad_batch(windows[i : i + b], windower.pad_id) for i in range(0, len(windows), b))]
            n = len(windows) if b > 1 else min(len(windows), 256)  # batch 1 on the CPU backend: a sample
            lexical = _rate(hybrid.head.margins, batches[: n // b], n, args.repeat)
            model = _rate(backend.infer, batches[: n // b], n, 1)
            out["by_batch"][str(b)] = {  # type: ignore[index]
                "lexical_windows_per_s": round(lexical, 1), "backend_windows_per_s": round(model, 1),
                "lexical_share_of_engine_time": round((1 / lexical) / (1 / lexical + 1 / model), 4)}
    finally:
        backend.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
