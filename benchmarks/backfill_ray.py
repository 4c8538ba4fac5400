"""Backfill throughput: the local engine vs `groomguard score --engine ray`, same conversations, one run.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/backfill_ray.py --bundle models/bundles/demo -n 2000
    ... or as part of `python -m benchmarks --backfill 2000`

Generates N SYNTHETIC conversations with `groomguard data synth` (kept in benchmarks/out/), scores
them with the local engine (one process, ONNX Runtime on all cores, `score --chunk` batches) and
with a Ray Data backfill on a local Ray cluster (one actor per core, one thread each), and reports
conversations/s for both plus the max |Δ risk| between them (0 expected: same variant, same batches).
Timed: engine load + scoring + writing for local; the backfill run (actors start, score, shards,
manifest) on an already started cluster for Ray, whose start-up is reported separately. Take the
numbers on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def synth(n: int, seed: int) -> Path:
    path = OUT / f"backfill-synth-{n}-{seed}.jsonl"
    if not path.is_file():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "groomguard", "data", "synth", "-o", str(path), "-n", str(n),
                        "--seed", str(seed)], check=True)
    return path


def measure(bundle_dir: Path, n: int = 2000, actors: int = 0, seed: int = 0, variant: str | None = None,
            data: Path | None = None, stride: int = 1) -> dict[str, Any]:
    import ray

    from groomguard.bundle import Bundle
    from groomguard.config import default_config_path, read_yaml
    from groomguard.jsonl import iter_jsonl
    from groomguard.serving.backfill.config import BackfillConfig
    from groomguard.serving.backfill.ray_backfill import BackfillRequest, run_backfill
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig
    from groomguard.serving.variant_choice import choose_variant

    cores = os.cpu_count() or 1
    actors = actors or cores
    bundle = Bundle.load(bundle_dir)
    variant = variant or choose_variant(bundle.manifest, "CPUExecutionProvider", 1e-4)
    serve = read_yaml(default_config_path("serve.yaml"))
    backfill = BackfillConfig.model_validate({**serve.get("backfill", {}), "actors": actors})
    engine_cfg = EngineConfig.model_validate({**serve.get("engine", {}), "variant": variant,
                                              "providers": ["CPUExecutionProvider"], "intra_op_threads": cores})
    source = data or synth(n, seed)
    run_dir = OUT / f"backfill-run-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()  # local: what `groomguard score` does, chunk = backfill.batch_size
    engine = build_engine(str(bundle_dir), engine_cfg)
    local_lines: list[str] = []
    pending: list[Any] = []
    for conv in iter_jsonl(source):
        pending.append(conv)
        if len(pending) == backfill.batch_size:
            local_lines += [s.to_json() for s in engine.score_conversations(pending, stride=stride)]
            pending = []
    local_lines += [s.to_json() for s in engine.score_conversations(pending, stride=stride)] if pending else []
    (run_dir / "local.jsonl").write_text("".join(f"{line}\n" for line in local_lines))
    local_s = time.perf_counter() - t0
    engine.close()

    t0 = time.perf_counter()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback only (Ray's single-machine switch)
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    start_s = time.perf_counter() - t0
    try:
        req = BackfillRequest(bundle=bundle_dir, input=source, output=run_dir / "ray", engine=engine_cfg,
                              backfill=backfill, stride=stride, show_progress=False)
        res = run_backfill(req, echo=lambda _msg: None)
    finally:
        ray.shutdown()
    shards = [run_dir / "ray" / s.file for s in res.manifest.shards]
    got = [json.loads(line) for path in shards for line in path.read_text().splitlines()]
    want = [json.loads(line) for line in local_lines]
    diff = max((abs(a - b) for g, w in zip(got, want, strict=True)
                for a, b in zip(g["risk_by_message"], w["risk_by_message"], strict=True)), default=0.0)
    windows = sum(len(w["risk_by_message"]) for w in want)
    return {
        "conversations": len(want), "windows": windows, "source": str(source), "variant": variant, "stride": stride,
        "bundle": bundle.manifest.model_ref, "cores": cores, "load_avg_1m": os.getloadavg()[0],
        "local": {"seconds": local_s, "conversations_per_s": len(want) / local_s, "threads": cores},
        "ray": {"seconds": res.seconds, "conversations_per_s": len(got) / res.seconds, "actors": actors,
                "threads_per_actor": backfill.intra_op_threads, "batch_size": backfill.batch_size,
                "cluster_start_seconds": start_s, "shards": len(res.manifest.shards)},
        "max_abs_diff_risk": diff, "records_identical": got == want,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("-n", "--conversations", type=int, default=2000)
    ap.add_argument("--actors", type=int, default=0, help="Ray scoring actors (0 = one per core)")
    ap.add_argument("--variant", default=None, help="model variant for both engines (default: what auto picks on CPU)")
    ap.add_argument("--data", type=Path, default=None, help="score this JSONL instead of synthetic conversations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stride", type=int, default=1, help="score after every Nth message (fewer windows, faster)")
    ap.add_argument("--out", type=Path, default=Path("reports/bench-backfill.json"))
    args = ap.parse_args(argv)
    result = measure(args.bundle, args.conversations, args.actors, args.seed, args.variant, args.data,
                     args.stride)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["max_abs_diff_risk"] == 0.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
