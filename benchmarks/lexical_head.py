"""What the lexical head (groomguard/lexical.py) costs beside the transformer, on the same batches.

The engine computes the head's margins on the CPU for every batch it scores (serving/engine.py
`_outputs`), after the backend call. This times both on the same padded batches, in one process:
the backend's inference and the head's margins, at a few batch sizes, and says what share of the
engine's time the head takes. On a GPU the backend is ~400x faster than on 2 CPU cores, so the
head's windows/s on one core is the ceiling it would put on a GPU engine (issue 27).

    .venv/bin/python -m benchmarks.lexical_head --bundle models/bundles/demo --data data/demo/test.jsonl

`--compare OTHER_BUNDLE` also times that bundle's head on the same windows (encoded by its own
tokenizer), in the same process, alternating with this one: e.g. the word head (`lexical.units: words`)
against the token-id head it replaced.
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
    ap.add_argument("--compare", type=Path, default=None, help="another hybrid bundle whose head is timed beside")
    args = ap.parse_args(argv)
    other = Bundle.load(args.compare) if args.compare else None
    other_hybrid = other.hybrid() if other else None
    if other is not None and other_hybrid is None:
        raise SystemExit(f"error: {args.compare}: the bundle has no lexical head")

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
                              "units": hybrid.head.units, "variant": args.variant, "by_batch": {}}
    if other is not None and other_hybrid is not None:
        out["compare"] = {"bundle": other.manifest.model_ref, "units": other_hybrid.head.units,
                          "features": other_hybrid.head.n_features}
        other_windows = sorted(WindowPlan.of(other.windower(), list(iter_jsonl(args.data))).windows[: args.windows],
                               key=len)
    try:
        for b in (int(x) for x in args.batches.split(",")):
            batches = [(p.input_ids, p.attention_mask) for p in
                       (pad_batch(windows[i : i + b], windower.pad_id) for i in range(0, len(windows), b))]
            n = len(windows) if b > 1 else min(len(windows), 256)  # batch 1 on the CPU backend: a sample
            lexical = _rate(hybrid.head.margins, batches[: n // b], n, args.repeat)
            model = _rate(backend.infer, batches[: n // b], n, 1)
            row = {"lexical_windows_per_s": round(lexical, 1), "backend_windows_per_s": round(model, 1),
                   "lexical_share_of_engine_time": round((1 / lexical) / (1 / lexical + 1 / model), 4)}
            if other is not None and other_hybrid is not None:
                other_pad = other.windower().pad_id
                theirs = [(p.input_ids, p.attention_mask) for p in
                          (pad_batch(other_windows[i : i + b], other_pad) for i in range(0, len(other_windows), b))]
                row["compare_lexical_windows_per_s"] = round(_rate(other_hybrid.head.margins, theirs[: n // b], n,
                                                                   args.repeat), 1)
                row["lexical_windows_per_s_again"] = round(_rate(hybrid.head.margins, batches[: n // b], n,
                                                                 args.repeat), 1)  # alternated: drift shows
            out["by_batch"][str(b)] = row  # type: ignore[index]
    finally:
        backend.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
