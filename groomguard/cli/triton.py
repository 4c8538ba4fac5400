"""`groomguard triton export|serve`: Triton model repository and a local (CPU) Triton server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from groomguard.cli.options import TritonConfigOpt, old_flag

triton_app = typer.Typer(
    help="NVIDIA Triton: write a model repository from a bundle, or serve one on this machine.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    app.add_typer(triton_app, name="triton")


@triton_app.command("export", no_args_is_help=True)
def export(
    bundle: Annotated[Path, typer.Option(help="Model bundle directory, e.g. models/bundles/demo.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Triton model repository "
                                                   "to write into (default: models/triton).")] = None,
    name: Annotated[Optional[str], typer.Option(help="Model name in Triton (default: the bundle's name).")] = None,
    config: TritonConfigOpt = None,
    variant: Annotated[Optional[Literal["auto", "fp32", "int8", "fp16", "fused-fp16"]], typer.Option(help="Variant served (auto: what the engine's auto serves on this instance kind, budget check passed, contrib-op graphs only when named; fp16 not in the bundle: converted and parity-checked). Point the gateway at it with engine.triton.variant.")] = None,
    instance_kind: Annotated[Optional[Literal["gpu", "cpu"]], typer.Option(help="Instance kind: KIND_GPU or KIND_CPU.")] = None,
    instance_count: Annotated[Optional[int], typer.Option(min=1, help="Model instances per device.")] = None,
    tensorrt: Annotated[Optional[bool], typer.Option("--tensorrt/--no-tensorrt",
                                                     help="TensorRT accelerator block (GPU only).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key (repeatable), e.g. "
                                                      "--set export.max_batch_size=64.")] = None,
    repo_old: Annotated[Optional[Path], old_flag("--repo")] = None,
) -> None:
    """Write REPO/NAME/config.pbtxt and REPO/NAME/1/model.onnx for Triton's onnxruntime backend.

    Tensor names and dtypes are read from the ONNX graph; the config is parsed with Triton's own
    model_config.proto before anything is written. bundle.json and tokenizer.json travel along.

    Example: groomguard triton export --bundle models/bundles/demo -o models/triton --instance-kind cpu
    """
    import tempfile

    from groomguard.bundle import Bundle
    from groomguard.cli.files import check_out_dir
    from groomguard.cli.options import renamed
    from groomguard.serving.triton.config import load_triton_config
    from groomguard.serving.triton.repository import export_repository

    repo = renamed(output, repo_old, "--output", "--repo") or Path("models/triton")
    check_out_dir("--output", repo)
    overrides = list(set_ or [])
    if variant:
        overrides.append(f"export.variant={variant}")
    if instance_kind:
        overrides.append(f"export.instance_group.kind=KIND_{instance_kind.upper()}")
    if instance_count:
        overrides.append(f"export.instance_group.count={instance_count}")
    if tensorrt is not None:
        overrides.append(f"export.tensorrt.enabled={str(tensorrt).lower()}")
    cfg = load_triton_config(config, overrides).export
    b = Bundle.load(bundle)

    from groomguard.serving.triton.repository import resolve_variant

    served = resolve_variant(b, cfg)
    provenance: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="gg-fp16-") as tmp:
        model_file = None
        if served == "fp16":
            if "model.fp16.onnx" in b.manifest.files:
                model_file = b.model_path("fp16")
                info = b.manifest.variants.get("fp16")
                provenance["fp16_max_abs_delta_prob"] = info.max_abs_delta_prob if info else None
            else:
                from groomguard.progress import progress_bar
                from groomguard.training.export.fp16 import fp16_with_parity

                model_file = Path(tmp) / "model.fp16.onnx"
                with progress_bar() as bar:
                    task = bar.add_task("fp16 vs fp32 parity (CPU)", total=cfg.fp16.parity_windows)
                    result = fp16_with_parity(b, model_file, cfg.fp16.parity_windows, cfg.fp16.seed,
                                              cfg.fp16.tolerance, progress=lambda n: bar.advance(task, n))
                provenance.update(fp16_max_abs_delta_prob=result.max_abs_delta_prob,
                                  fp16_max_abs_delta_logit=result.max_abs_delta_logit,
                                  fp16_parity_windows=result.n_windows, fp16_tolerance=result.tolerance)
                typer.echo(f"fp16 parity: max |Δ risk| {result.max_abs_delta_prob:.2e} over {result.n_windows} "
                           f"windows (tolerance {result.tolerance:g})")
        out = export_repository(b, repo, cfg, name, model_file, provenance, served)
    ins = ", ".join(f"{t.name}:{t.triton_dtype}{list(t.dims)}" for t in out.signature.inputs)
    outs = ", ".join(f"{t.name}:{t.triton_dtype}{list(t.dims)}" for t in out.signature.outputs)
    typer.echo(f"wrote {out.config_path} and {out.model_path} (inputs {ins}; outputs {outs}; "
               f"max_batch_size {cfg.max_batch_size}, {cfg.instance_group.kind} x{cfg.instance_group.count}); "
               f"variant {served}: gateways use --set engine.triton.variant={served}")


@triton_app.command("serve", no_args_is_help=True)
def serve(
    input: Annotated[Optional[Path], typer.Option("--input", "-i", show_default=False, help="Model repository written "
                                                  "by `groomguard triton export` (required).")] = None,
    model: Annotated[Optional[str], typer.Option(show_default=False, help="Model name: a directory under --input (required).")] = None,
    host: Annotated[Optional[str], typer.Option(help="Address to listen on.")] = None,
    http_port: Annotated[Optional[int], typer.Option(help="KServe v2 HTTP port.")] = None,
    grpc_port: Annotated[Optional[int], typer.Option(help="KServe v2 gRPC port.")] = None,
    metrics_port: Annotated[Optional[int], typer.Option(help="Prometheus metrics port.")] = None,
    config: TritonConfigOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key (repeatable), e.g. "
                                                      "--set serve.intra_op_threads=2.")] = None,
    repo_old: Annotated[Optional[Path], old_flag("--repo")] = None,
) -> None:
    """Start a real Triton Inference Server (nvidia-pytriton) hosting REPO/MODEL on this machine.

    The model runs through the engine's ONNX Runtime backend on serve.providers (CUDA where
    onnxruntime-gpu finds a GPU, else the CPU; the provider used is logged) under the name, tensor
    names, dtypes and dynamic batching of the generated config.pbtxt. NVIDIA's Triton container on
    the same repository is the other way (deploy/triton/README.md). Stops on Ctrl-C / SIGTERM.

    Example: groomguard triton serve -i models/triton --model demo --http-port 8010
    """
    import os
    import sys

    from groomguard.cli.options import renamed, required
    from groomguard.errors import ConfigError
    from groomguard.serving.triton.config import load_triton_config
    from groomguard.serving.triton.pbtxt import read_config
    from groomguard.serving.triton.repository import CONFIG_FILE, MODEL_FILE, model_version_dir
    from groomguard.serving.triton.server import libdir_env

    repo = required(renamed(input, repo_old, "--input", "--repo"), "--input")
    model = required(model, "--model")
    srv = load_triton_config(config, set_ or []).serve
    parsed = read_config(repo / model / CONFIG_FILE)  # one-line error if missing or invalid
    if parsed.name != model:
        raise ConfigError(f"{repo / model / CONFIG_FILE}: model name is {parsed.name!r}, not {model!r}")
    if not (model_version_dir(repo / model) / MODEL_FILE).is_file():
        raise ConfigError(f"{repo / model}: no {MODEL_FILE} in the version directory; re-run `groomguard triton export`")
    argv = [sys.executable, "-m", "groomguard.serving.triton.server", "--repo", str(repo), "--model", model,
            "--host", host or srv.host, "--http-port", str(http_port or srv.http_port),
            "--grpc-port", str(grpc_port or srv.grpc_port), "--metrics-port", str(metrics_port or srv.metrics_port),
            "--threads", str(srv.intra_op_threads), "--providers", ",".join(srv.providers),
            "--io-binding", srv.io_binding]
    typer.echo(f"starting Triton for {model} (http {argv[8]}, grpc {argv[10]}, metrics {argv[12]}) ...")
    sys.stdout.flush()
    os.execve(sys.executable, argv, libdir_env())
