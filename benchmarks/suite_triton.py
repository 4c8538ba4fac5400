"""Triton (PyTriton's tritonserver on CPU, gRPC) against the embedded engine, same windows, same run.

The repository is what `groomguard triton export` writes (plain fp32 graph, served through ONNX
Runtime inside Triton); the gateway side is the engine's `triton` backend. On CPU this measures
the protocol + server overhead on top of the same ONNX Runtime work, not GPU speed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.suite_engine import Ctx, rate
from groomguard.bundle import Bundle
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig


def triton_rows(ctx: Ctx, bundle: Bundle, windows: list[list[int]]) -> list[dict[str, Any]]:
    from groomguard.serving.triton.config import load_triton_config
    from groomguard.serving.triton.launch import local_triton
    from groomguard.serving.triton.repository import export_repository

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        export_repository(bundle, repo, load_triton_config().export)
        with local_triton(repo, bundle.manifest.name, Path(tmp) / "server.log") as srv:
            for batch in (1, 32):
                cfg = EngineConfig.model_validate({
                    "backend": "triton", "max_batch_size": batch, "providers": ctx.providers,
                    "triton": {"url": srv.grpc_url, "protocol": "grpc", "timeout_s": 120}})
                engine = build_engine(str(ctx.bundle_dir), cfg)
                engine.score_windows(windows[:batch])  # warm-up

                def score(engine: Any = engine) -> None:
                    engine.score_windows(windows)
                speed = rate(score, len(windows), ctx.min_seconds)
                rows.append({"path": "triton (PyTriton, CPU, gRPC)", "variant": "fp32", "batch": batch,
                             "input": "windows", "windows_per_s": round(speed, 2)})
                engine.close()
    return rows
