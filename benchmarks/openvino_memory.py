"""Resident memory of the bf16 (OpenVINO) backend as it meets new input shapes, per shape-cache size.

Why: OpenVINO's CPU plugin keeps compiled kernels per input shape (`CPU_RUNTIME_CACHE_CAPACITY`,
5,000 shapes by default). A server sees every batch size the micro-batcher forms times every
window length: thousands of shapes, about 1 MB each on the demo model. `engine.openvino_shape_cache`
bounds that cache; this script shows the resident memory with and without the bound, each setting in
its own process, and the batch-1 / batch-32 speed on sampled windows after the sweep.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/openvino_memory.py --bundle models/bundles/demo
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def child(bundle: Path, cache: int, shapes: int, threads: int) -> dict[str, float]:
    import numpy as np
    import psutil

    from groomguard.serving.backends.openvino import OpenVinoBackend

    proc = psutil.Process(os.getpid())
    backend = OpenVinoBackend(bundle / "model.onnx", "bf16", threads, shape_cache=cache)
    start = proc.memory_info().rss
    lengths = range(8, 129)
    done = 0
    t0 = time.perf_counter()
    for batch in range(1, 33):
        for length in lengths:
            if done >= shapes:
                break
            backend.infer(np.full((batch, length), 1000, np.int64), np.ones((batch, length), np.int64))
            done += 1
    return {"shape_cache": cache, "shapes": done, "rss_start_mb": start / 2**20,
            "rss_end_mb": proc.memory_info().rss / 2**20, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--shapes", type=int, default=1500, help="distinct (batch, length) shapes to run")
    ap.add_argument("--caches", default="5000,256", help="shape-cache sizes to compare (5000 = OpenVINO's default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.bundle, args.child, args.shapes, args.threads)))
        return
    for cache in (int(c) for c in args.caches.split(",")):
        out = subprocess.run([sys.executable, __file__, "--bundle", str(args.bundle), "--shapes", str(args.shapes),
                              "--threads", str(args.threads), "--child", str(cache)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"shape cache {r['shape_cache']:>5}: {r['shapes']} shapes, RSS {r['rss_start_mb']:.0f} -> "
              f"{r['rss_end_mb']:.0f} MB ({r['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
