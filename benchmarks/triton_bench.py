"""Side-by-side throughput of the engine's backends on this machine: embedded ONNX Runtime vs a
real (PyTriton-hosted) Triton server over gRPC and HTTP.

    python benchmarks/triton_bench.py --bundle models/bundles/demo --windows 128 --length 128

Starts its own Triton server on free ports (exported into a temp repository) and kills it at the
end. On CPU this measures protocol overhead, not GPU speed; use perf_analyzer on GPU hosts
(deploy/triton/README.md). Windows are random vocabulary ids (no text).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from groomguard.bundle import Bundle
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.triton.config import load_triton_config
from groomguard.serving.triton.launch import local_triton
from groomguard.serving.triton.repository import export_repository
from groomguard.training.export.fp16 import generated_parity_windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--windows", type=int, default=128)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()

    bundle = Bundle.load(args.bundle)
    w = bundle.windower()
    windows = generated_parity_windows(w.tokenizer.get_vocab_size(), args.length, args.windows, seed=0,
                               prefix=tuple(w.prefix), suffix=tuple(w.suffix))
    batches = [windows[i : i + args.batch] for i in range(0, len(windows), args.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        export_repository(bundle, repo, load_triton_config().export)
        with local_triton(repo, bundle.manifest.name, Path(tmp) / "server.log") as srv:
            setups = {
                "onnxruntime": {"intra_op_threads": 1},
                "triton-grpc": {"backend": "triton",
                                "triton": {"url": srv.grpc_url, "protocol": "grpc", "timeout_s": 120}},
                "triton-http": {"backend": "triton",
                                "triton": {"url": srv.http_url, "protocol": "http", "timeout_s": 120}},
            }
            reference = None
            for label, cfg in setups.items():
                engine = build_engine(str(args.bundle), EngineConfig.model_validate(
                    {"providers": ["CPUExecutionProvider"], **cfg}))
                engine.infer_batch(batches[0])  # warm-up
                for conc in args.concurrency:
                    start = time.perf_counter()
                    with ThreadPoolExecutor(conc) as pool:
                        risks = np.concatenate(list(pool.map(engine.infer_batch, batches)))
                    took = time.perf_counter() - start
                    reference = risks if reference is None else reference
                    print(f"{label:12s} concurrency={conc}: {len(windows) / took:7.1f} windows/s "
                          f"(max |Δ| vs onnxruntime {np.max(np.abs(risks - reference)):.1e})")
                engine.close()


if __name__ == "__main__":
    main()
