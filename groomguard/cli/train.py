"""`groomguard train` and `groomguard export`: fine-tune a model and write a verified bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from groomguard.cli.options import old_flag


def register(app: typer.Typer) -> None:
    app.command("train", no_args_is_help=True)(train)
    app.command("export", no_args_is_help=True)(export)


SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a config value, dotted key=value (repeatable), e.g. --set training.max_steps=50."),
]
RecipeOpt = Annotated[Path, typer.Option(help="Training recipe YAML, e.g. configs/train-demo.yaml (a packaged recipe's "
                                              "name works anywhere: `groomguard config show train-demo`).")]


def train(
    config: RecipeOpt,
    set_: SetOpt = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI (server); default from the config (local SQLite under var/).")] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Do not log this run to MLflow.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the last Trainer checkpoint in <work_dir>/<name>/trainer (optimizer and scheduler state kept), e.g. after an interruption.")] = False,
) -> None:
    """Fine-tune the base model on the config's train split, export the bundle, evaluate the test split.

    Steps: verify the base model, window the data exactly as serving does, train with early
    stopping on validation ROC-AUC, export ONNX (parity-checked against PyTorch) plus an int8
    variant, fit calibration and thresholds on validation, write model_card.md and bundle.json,
    log the run to MLflow, and print the test split's ROC-AUC. The best checkpoint is kept in
    <work_dir>/<name>/best for `groomguard export`. Needs the training extra:
    pip install 'groomguard[train]'.

    Example: groomguard train --config configs/train-demo.yaml --set training.max_steps=50
    """
    from groomguard.config import load_config
    from groomguard.training.train import run_training
    from groomguard.training.train_config import TrainConfig

    cfg = load_config(TrainConfig, config, set_ or [])
    if no_tracking:
        cfg.tracking.enabled = False
    outcome = run_training(cfg, tracking_uri=tracking_uri, log=typer.echo, resume=resume)
    auc = outcome.metrics.get("test_conversation_roc_auc")
    if auc is not None:
        typer.echo(f"ROC-AUC on the test split: {auc:.4f}")


def export(
    checkpoint: Annotated[Path, typer.Option(help="Fine-tuned checkpoint directory (e.g. var/train/demo/best).")],
    config: RecipeOpt,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Bundle directory to write, e.g. models/bundles/demo (required).")] = None,
    set_: SetOpt = None,
    out: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Export a fine-tuned checkpoint as a verified bundle (ONNX + int8, calibration, thresholds, card).

    The export fails, leaving any existing bundle untouched, if ONNX Runtime's probabilities differ
    from PyTorch's by more than export.parity_tolerance on held-out windows of mixed lengths.
    Needs the training extra: pip install 'groomguard[train]'.

    Example: groomguard export --checkpoint var/train/demo/best --config configs/train-demo.yaml -o models/bundles/demo
    """
    from groomguard.cli.files import FileArgumentError, check_out_dir
    from groomguard.cli.options import renamed, required
    from groomguard.config import load_config
    from groomguard.training.export.pipeline import run_export
    from groomguard.training.train_config import TrainConfig

    target = required(renamed(output, out, "--output", "--out"), "--output")
    if not checkpoint.is_dir():
        raise FileArgumentError(f"--checkpoint: {checkpoint}: not a directory")
    check_out_dir("--output", target)  # before the (minutes-long) export, not after
    cfg = load_config(TrainConfig, config, set_ or [])
    run_export(cfg, checkpoint, target, log=typer.echo)
