"""Host a generated Triton model repository entry on a CPU machine with a real Triton server.

`python -m groomguard.serving.triton.server --repo models/triton --model demo --http-port 8000 ...`

The `nvidia-pytriton` wheel bundles a real `tritonserver` but only its Python backend (no
onnxruntime backend), so the raw repository cannot be loaded as-is. Instead this reads the
generated `config.pbtxt` with Triton's schema and binds a PyTriton model with the *same* name,
tensor names, dtypes, dims, max_batch_size, dynamic batching and warm-up, whose inference function
runs `<version>/model.onnx` through the engine's ONNX Runtime backend (serving/backends/onnxruntime.py)
on `--providers` (CUDA on a GPU host, `serve.providers` in configs/triton.yaml; the provider the
session really got is logged as `provider=...`) with `--io-binding`. Triton's dynamic batcher
(config.pbtxt, from `export.dynamic_batching`) merges concurrent requests before the call. Clients
cannot tell the difference at the protocol level (KServe v2 over HTTP and gRPC, model
metadata/config endpoints, metrics).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import sysconfig
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.serving.backends.onnxruntime import OnnxRuntimeBackend, preload_gpu_libraries
from groomguard.serving.triton.pbtxt import read_config
from groomguard.serving.triton.repository import CONFIG_FILE, MODEL_FILE, model_version_dir
from groomguard.serving.triton.signature import TRITON_TO_NUMPY

log = logging.getLogger("groomguard.triton.server")
CPU = "CPUExecutionProvider"


def libdir_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with this interpreter's libpython dir first on LD_LIBRARY_PATH.

    PyTriton's Python-backend stub otherwise picks up the system libpython (ENVIRONMENT.md).
    """
    env = dict(os.environ if env is None else env)
    libdir = str(sysconfig.get_config_var("LIBDIR") or "")
    parts = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
    if libdir and (not parts or parts[0] != libdir):
        env["LD_LIBRARY_PATH"] = ":".join([libdir, *[p for p in parts if p != libdir]])
    return env


def needs_reexec() -> bool:
    return libdir_env()["LD_LIBRARY_PATH"] != os.environ.get("LD_LIBRARY_PATH", "")


def make_backend(model_path: Path, input_names: list[str], output_names: list[str], threads: int = 0,
                 providers: Sequence[str] = (CPU,), io_binding: str = "auto") -> OnnxRuntimeBackend:
    """The engine's ONNX Runtime backend for the repository's model: one session shared by the instances,
    on the first of `providers` this ONNX Runtime can run (what it got is `backend.provider`)."""
    if len(input_names) != 2 or len(output_names) != 1:
        raise SystemExit(f"error: {model_path}: expected 2 inputs (token ids, attention mask) and 1 output "
                         f"(logits), the bundle signature; config.pbtxt has {input_names} -> {output_names}")
    preload_gpu_libraries(providers)
    return OnnxRuntimeBackend(model_path, providers, threads, input_names, output_names[0], io_binding=io_binding)


def _make_infer(backend: OnnxRuntimeBackend) -> Callable[..., Any]:
    from pytriton.decorators import batch

    ids_name, mask_name = backend.input_names

    @batch  # type: ignore[untyped-decorator]
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {backend.output_name: backend.infer(inputs[ids_name], inputs[mask_name])}

    return infer


def bind_args(config: Any) -> dict[str, Any]:
    """Translate a parsed Triton ModelConfig into PyTriton `bind` arguments (no values duplicated)."""
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.model_config.common import ModelWarmup, WarmupInput
    from tritonclient.grpc import model_config_pb2

    def dtype(code: int) -> Any:
        return np.dtype(TRITON_TO_NUMPY[model_config_pb2.DataType.Name(code)]).type

    inputs = [Tensor(name=t.name, dtype=dtype(t.data_type), shape=tuple(t.dims)) for t in config.input]
    outputs = [Tensor(name=t.name, dtype=dtype(t.data_type), shape=tuple(t.dims)) for t in config.output]
    batcher = DynamicBatcher(
        max_queue_delay_microseconds=config.dynamic_batching.max_queue_delay_microseconds,
        preferred_batch_size=list(config.dynamic_batching.preferred_batch_size) or None,
    )
    warmup = [
        ModelWarmup(name=w.name, batch_size=w.batch_size, count=max(1, w.count), inputs={
            key: WarmupInput(dtype=dtype(v.data_type), shape=tuple(v.dims), zero_data=v.zero_data,
                             random_data=v.random_data)
            for key, v in w.inputs.items()
        })
        for w in config.model_warmup
    ]
    model_config = ModelConfig(max_batch_size=config.max_batch_size, batcher=batcher, model_warmup=warmup or None)
    return {"model_name": config.name, "inputs": inputs, "outputs": outputs, "config": model_config}


def serve(repo: Path, model: str, host: str, http_port: int, grpc_port: int, metrics_port: int,
          threads: int = 0, log_verbose: int = 0, workspace: Path | None = None,
          providers: Sequence[str] = (CPU,), io_binding: str = "auto") -> None:
    """Bind and block until SIGTERM/SIGINT."""
    from pytriton.triton import Triton, TritonConfig

    model_dir = repo / model
    config = read_config(model_dir / CONFIG_FILE)
    if config.name != model:
        raise SystemExit(f"error: {model_dir / CONFIG_FILE}: name is {config.name!r}, expected {model!r}")
    model_path = model_version_dir(model_dir) / MODEL_FILE
    args = bind_args(config)
    backend = make_backend(model_path, [t.name for t in config.input], [t.name for t in config.output], threads,
                           providers, io_binding)
    infer = _make_infer(backend)
    count = max(1, sum(g.count for g in config.instance_group)) if config.instance_group else 1
    triton_config = TritonConfig(
        http_address=host, http_port=http_port, grpc_address=host, grpc_port=grpc_port,
        metrics_address=host, metrics_port=metrics_port, allow_metrics=True, log_verbose=log_verbose,
        strict_readiness=True, exit_on_error=True,
    )

    def _stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    with Triton(config=triton_config, workspace=workspace) as triton:
        triton.bind(infer_func=[infer] * count, strict=True, **args)
        log.info("serving model=%s (%s) provider=%s io_binding=%s http=%s grpc=%s metrics=%s", model, model_path,
                 backend.provider, backend.io_binding, http_port, grpc_port, metrics_port)
        triton.serve()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m groomguard.serving.triton.server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repo", type=Path, required=True, help="model repository, e.g. models/triton")
    parser.add_argument("--model", required=True, help="model name (directory under --repo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = auto)")
    parser.add_argument("--providers", default=CPU, help="ONNX Runtime providers, comma-separated, tried in order "
                        "(e.g. CUDAExecutionProvider,CPUExecutionProvider); the CPU is always last")
    parser.add_argument("--io-binding", choices=("auto", "on", "off"), default="auto",
                        help="ONNX Runtime I/O binding (auto: on where the session runs on CUDA/TensorRT)")
    parser.add_argument("--log-verbose", type=int, default=0)
    parser.add_argument("--workspace", type=Path, default=None, help="PyTriton workspace dir (default: a temp dir)")
    args = parser.parse_args(argv)
    if needs_reexec():
        os.execve(sys.executable, [sys.executable, "-m", "groomguard.serving.triton.server", *argv], libdir_env())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pytriton").setLevel(logging.WARNING)
    serve(args.repo, args.model, args.host, args.http_port, args.grpc_port, args.metrics_port, args.threads,
          args.log_verbose, args.workspace, [p for p in args.providers.split(",") if p], args.io_binding)


if __name__ == "__main__":
    main()
