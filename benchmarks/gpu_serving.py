"""`python -m benchmarks.gpu run`: Triton and the gateway on the card, against the engine in the same run.

Triton is the PyTriton server `groomguard triton serve` starts (serving/triton/server.py): the repository
`groomguard triton export` writes for the variant, served by a callable that is the engine's ONNX Runtime
backend on the GPU provider (I/O binding `auto`), behind Triton's dynamic batcher (configs/triton.yaml
`export.dynamic_batching`; `max_batch_size` raised so client batches x clients fit one server batch).
The client side is the gateway's own Triton backend (`engine.backend: triton`, tritonclient over gRPC and
HTTP) in a `ScoringEngine`, `clients` batches in flight; the embedded engine runs the same modes on the
same provider and variant in the same process, before the server takes the card's memory. The gateway row
is a real `groomguard serve` process with `engine.backend=triton` posting /v1/score with API keys.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.gpu_rows import gpu_backend, short
from benchmarks.suite_engine import fixed_length, rate
from groomguard.bundle import MANIFEST, MODEL_FILES, TOKENIZER, Bundle, Variant, write_manifest
from groomguard.serving.engine import ScoringEngine, build_backend
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.variant_choice import CPU

# (client batch, clients in flight): batch 1 alone (latency-bound), batch 1 under concurrency (the dynamic
# batcher's case), and large client batches (throughput)
MODES = ((1, 1), (1, 16), (32, 8), (256, 4))
MODES_QUICK = ((1, 1), (1, 4), (32, 2))


def _engine_cell(engine: ScoringEngine, windows: list[list[int]], batch: int, clients: int, seconds: float) -> float:
    ws = windows[: max(64, batch * clients * 4)]
    engine.score_windows(ws[: batch * clients])  # warm-up: this shape, these connections
    return round(rate(lambda: engine.score_windows(ws), len(ws), seconds), 1)


def triton_config(provider: str, modes: tuple[tuple[int, int], ...]) -> Any:
    """configs/triton.yaml's export section, with a server batch that holds every mode's concurrent requests."""
    from groomguard.serving.triton.config import load_triton_config

    biggest = max(b * c for b, c in modes)
    kind = "KIND_CPU" if provider == CPU else "KIND_GPU"
    return load_triton_config(None, [f"export.max_batch_size={biggest}", f"export.instance_group.kind={kind}",
                                     "export.tensorrt.enabled=false"]).export


def serving_rows(bundle: Bundle, provider: str, variant: Variant, windows: list[list[int]], seconds: float,
                 quick: bool, parts: set[str], conversations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                            dict[str, Any]]:
    """Rows for Triton over gRPC and HTTP (and the gateway, when asked) beside the embedded engine, all at
    S=128; plus what the server ran on and Triton's rate as a share of the engine's per mode."""
    from groomguard.serving.triton.launch import local_triton
    from groomguard.serving.triton.repository import export_repository

    modes = MODES_QUICK if quick else MODES
    ws = fixed_length(windows, 128)
    model = MODEL_FILES[variant]
    rows: list[dict[str, Any]] = []
    engine_rate: dict[tuple[int, int], float] = {}
    backend = gpu_backend(bundle, provider, variant)
    for batch, clients in modes:
        engine = ScoringEngine(bundle, backend, max_batch_size=batch, streams=clients)
        engine_rate[(batch, clients)] = _engine_cell(engine, ws, batch, clients, seconds)
        rows.append({"path": f"engine {short(backend.provider)} beside Triton, {clients} in flight", "model": model,
                     "batch": batch, "input": "S=128", "windows_per_s": engine_rate[(batch, clients)]})
    backend.close()
    info: dict[str, Any] = {"variant": variant, "share_of_engine": {}}
    with tempfile.TemporaryDirectory(prefix="gg-gpu-triton-") as tmp:
        repo = Path(tmp) / "repo"
        cfg = triton_config(provider, modes)
        export_repository(bundle, repo, cfg, variant=variant)
        name = bundle.manifest.name
        srv = local_triton(repo, name, Path(tmp) / "server.log", providers=tuple(dict.fromkeys([provider, CPU])),
                           threads=1 if provider == CPU else 0)
        try:
            srv.start(timeout_s=600)
            served = srv.provider() or "?"
            info |= {"server_provider": served, "max_batch_size": cfg.max_batch_size,
                     "dynamic_batching": cfg.dynamic_batching.model_dump()}
            for protocol, url in (("grpc", srv.grpc_url), ("http", srv.http_url)):
                for batch, clients in modes:
                    engine = ScoringEngine(bundle, build_backend(bundle, EngineConfig.model_validate({
                        "backend": "triton", "triton": {"url": url, "protocol": protocol, "timeout_s": 300,
                                                        "variant": variant}})), max_batch_size=batch, streams=clients)
                    got = _engine_cell(engine, ws, batch, clients, seconds)
                    engine.close()
                    rows.append({"path": f"triton {protocol} (PyTriton, {short(served)}), {clients} in flight",
                                 "model": model, "batch": batch, "input": "S=128", "windows_per_s": got})
                    info["share_of_engine"][f"{protocol} batch {batch} x{clients}"] = round(
                        got / engine_rate[(batch, clients)], 3) if engine_rate[(batch, clients)] else None
            if "gateway" in parts:
                try:
                    rows += gateway_rows(bundle, variant, srv.grpc_url, conversations, seconds, quick, Path(tmp))
                except Exception as exc:  # its own dependencies (FastAPI, SQLAlchemy, ...) may be missing there
                    info["gateway"] = f"not measured: {exc.__class__.__name__}: {str(exc)[:300]}"
        finally:
            srv.kill()
    return rows, info


def gateway_bundle(bundle: Bundle, variant: Variant, out: Path) -> Path:
    """A bundle the gateway can load for `engine.backend: triton`: tokenizer, windowing, calibration and
    thresholds of `bundle`, with the served GPU graph in the fp32 file's place. The gateway never runs it
    (Triton scores; `fallback_to_onnxruntime` stays off): the subset carried to a GPU host has no fp32
    graph, and the bundle contract requires one. A benchmark fixture, never a shipped bundle."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle.path / TOKENIZER, out / TOKENIZER)
    if bundle.manifest.lexical is not None:  # the gateway combines the lexical head with Triton's logits
        shutil.copyfile(bundle.path / bundle.manifest.lexical.file, out / bundle.manifest.lexical.file)
    shutil.copyfile(bundle.model_path(variant), out / MODEL_FILES["fp32"])
    (out / MANIFEST).write_text(bundle.manifest.model_copy(update={"variants": {}}).model_dump_json(), encoding="utf-8")
    write_manifest(out, Bundle.load(out, verify=False).manifest)
    return out


def gateway_rows(bundle: Bundle, variant: Variant, grpc_url: str, conversations: list[dict[str, Any]],
                 seconds: float, quick: bool, work: Path) -> list[dict[str, Any]]:
    """`groomguard serve --backend triton` in front of the server: /v1/score, one conversation per request
    (one window per message), `clients` threads; windows/s over the whole request path."""
    from benchmarks.support.server import serve_process
    from groomguard.serving.apikeys import create_key
    from groomguard.serving.settings import load_serve_config
    from groomguard.serving.store import open_store

    batch = 32 if quick else 256
    settings = [f"store.url=sqlite:///{work}/gateway.db", "engine.backend=triton", f"engine.triton.url={grpc_url}",
                "engine.triton.protocol=grpc", f"engine.triton.variant={variant}", "engine.triton.timeout_s=300",
                f"engine.max_batch_size={batch}", f"batching.bulk_batch_size={batch}", "engine.streams=4",
                "batching.max_delay_ms=2", "limits.max_windows_per_request=1000"]
    store = open_store(load_serve_config(None, settings).store)
    try:
        key = create_key(store, "gpu-bench", {"score"})[1]
    finally:
        store.close()
    rows = []
    with serve_process(gateway_bundle(bundle, variant, work / "gateway-bundle"), settings,
                       work / "gateway.log", timeout_s=600) as served:
        for clients in (2,) if quick else (4, 16):
            per_s, errors = _post_for(served.url, key, conversations, clients, seconds)
            rows.append({"path": f"gateway (serve --backend triton, gRPC), {clients} clients",
                         "model": MODEL_FILES[variant], "batch": batch, "input": "conversations",
                         "windows_per_s": round(per_s, 1), "errors": errors})
    return rows


def _post_for(url: str, key: str, conversations: list[dict[str, Any]], clients: int,
              seconds: float) -> tuple[float, int]:
    """(windows scored per second, failed requests) of `clients` threads posting /v1/score for `seconds`
    (after one warm-up request each)."""
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    totals = [0, 0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(c: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
            http.post("/v1/score", json={"conversations": [conversations[c % len(conversations)]]})
            start.wait()
            i = c
            while time.monotonic() < deadline[0]:
                conv = conversations[i % len(conversations)]
                ok = http.post("/v1/score", json={"conversations": [conv]}).status_code == 200
                with lock:
                    totals[0] += len(conv["messages"]) if ok else 0
                    totals[1] += not ok
                i += clients

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    deadline[0] = time.monotonic() + seconds + 60  # until every warm-up is back
    start.wait()
    t0 = time.monotonic()
    deadline[0] = t0 + seconds
    for t in threads:
        t.join()
    return totals[0] / (time.monotonic() - t0), totals[1]
