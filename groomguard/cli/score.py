"""`groomguard score`: batch-score a JSONL file through the serving engine."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from groomguard.cli.options import Backend, ServeConfigOpt, SetOpt, TritonProtocol, Variant


class EngineKind(str, Enum):
    local = "local"
    ray = "ray"


def register(app: typer.Typer) -> None:
    app.command("score", no_args_is_help=True)(score)


def score(
    bundle: Annotated[Path, typer.Option(help="Model bundle directory, e.g. models/bundles/demo.")],
    input: Annotated[Path, typer.Option("--input", "-i", help="Canonical conversations JSONL to score (- for stdin).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write one JSON line of scores per conversation (- for stdout).")],
    config: ServeConfigOpt = None,
    set_: SetOpt = None,
    backend: Annotated[Optional[Backend], typer.Option(help="Scoring backend (default: engine.backend, onnxruntime).")] = None,
    variant: Annotated[Optional[Variant], typer.Option(help="Model variant: auto = fastest within tolerance (engine.variant).")] = None,
    triton_url: Annotated[Optional[str], typer.Option(help="Triton server HOST:PORT (implies --backend triton).")] = None,
    triton_protocol: Annotated[Optional[TritonProtocol], typer.Option(help="Triton protocol (engine.triton.protocol).")] = None,
    stride: Annotated[int, typer.Option(min=1, help="Score after every Nth message (1 = every message).")] = 1,
    chunk: Annotated[int, typer.Option(min=1, help="Conversations held in memory at once.")] = 256,
    lenient: Annotated[bool, typer.Option(help="Skip malformed lines (counted) instead of stopping at the first.")] = False,
    engine_kind: Annotated[EngineKind, typer.Option("--engine", help="local: this process; ray: a Ray Data backfill (--input a file or directory of *.jsonl, --output a directory of shards + manifest.json, resumable; `backfill:` config section).")] = EngineKind.local,
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster to join (--engine ray), e.g. head-node:6379; default RAY_ADDRESS, else a local cluster on this machine.")] = None,
) -> None:
    """Score every conversation in INPUT: risk after each message, overall risk (max) and level.

    Output lines: conversation_id, risk, level, risk_by_message, model. When the input carries
    labels, ROC-AUC over conversations is printed at the end. Engine settings come from the serve
    config's `engine:` section (GROOMGUARD_ENGINE__* variables, --set engine.KEY=VALUE, flags).

    Example: groomguard score --bundle models/bundles/demo -i chats.jsonl -o scores.jsonl

    Backfill on Ray (same lines, sharded; a rerun skips finished shards):
    groomguard score --engine ray --bundle models/bundles/demo -i history/ -o scores/
    """
    from groomguard.cli.files import atomic_output, check_input, check_output
    from groomguard.config import load_config
    from groomguard.jsonl import ReadReport, iter_jsonl
    from groomguard.progress import progress_bar
    from groomguard.schema import Conversation
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    if engine_kind is not EngineKind.ray:
        check_input("--input", input)
        check_output("--output", output)  # before the model loads: a bad path fails in a second, not after scoring
    flags = {"engine.backend": backend or ("triton" if triton_url else None), "engine.variant": variant,
             "engine.triton.url": triton_url, "engine.triton.protocol": triton_protocol}
    engine_cfg = load_config(EngineConfig, config, set_ or [], default="serve.yaml", values=flags, section="engine")
    if engine_kind is EngineKind.ray:
        from groomguard.cli.score_ray import score_on_ray

        return score_on_ray(bundle, input, output, config, set_ or [], engine_cfg, stride, lenient, ray_address)
    engine = build_engine(str(bundle), engine_cfg)

    labels: list[int] = []
    risks: list[float] = []
    report = ReadReport()
    # Written to a temporary file renamed into place at the end: a failure leaves no empty/partial output.
    with atomic_output(output) as out, progress_bar() as bar:
        task = bar.add_task("scoring conversations", total=None)
        pending: list[Conversation] = []

        def flush() -> None:
            for conv, s in zip(pending, engine.score_conversations(pending, stride=stride), strict=True):
                out.write(s.to_json() + "\n")
                if conv.label is not None:
                    labels.append(conv.label)
                    risks.append(s.risk)
            bar.advance(task, len(pending))
            pending.clear()

        for conv in iter_jsonl(input, strict=not lenient, report=report):
            pending.append(conv)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
    engine.close()

    to_err = str(output) == "-"  # scores on stdout: keep the summary off it
    typer.echo(f"scored {report.read} conversations -> {output} (model {engine.model_ref})", err=to_err)
    if report.skipped:
        typer.echo(f"skipped {report.skipped} malformed lines; first: {report.errors[0]}", err=True)
    if labels:
        from groomguard.evaluation.metrics import roc_auc

        if len(set(labels)) == 2:
            typer.echo(f"ROC-AUC: {roc_auc(labels, risks):.4f} over {len(labels)} labelled conversations", err=to_err)
        else:
            typer.echo("ROC-AUC: undefined (input has a single class)", err=to_err)
