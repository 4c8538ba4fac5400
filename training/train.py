"""Fine-tune a sequence classifier on labelled windows and export the bundle.

Pipeline: resolve + verify the base model -> windows via `Windower` (tokenizers only; the same
code serving runs) -> transformers `Trainer` with class-weighted cross-entropy, dynamic padding,
evaluation every `eval_steps` with early stopping on validation ROC-AUC and the best checkpoint
restored -> bundle export (training/export.py) -> MLflow -> test-split evaluation.

Multi-GPU: run the same command under `torchrun --nproc_per_node N -m groomguard train ...`
or `accelerate launch`; the Trainer handles distribution. Export/evaluation then run on rank 0 only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.bundle import BundleManifest
from groomguard.errors import ConfigError
from groomguard.training.base_model import ResolvedBase, load_model, resolve_base
from groomguard.training.prepare import PreparedData, prepare_data
from groomguard.training.train_config import TrainConfig
from groomguard.training.windows_dataset import (
    PadCollator,
    TorchWindows,
    class_weights,
)


def _weighted_trainer_cls() -> Any:
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Cross-entropy with fixed class weights (None = unweighted)."""

        class_weight: Any = None

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            import torch

            labels = inputs.pop("labels")
            outputs = model(**inputs)
            weight = self.class_weight.to(outputs.logits.device) if self.class_weight is not None else None
            loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
            return (loss, outputs) if return_outputs else loss

    return WeightedTrainer


def _compute_metrics(pred: Any) -> dict[str, float]:
    from groomguard.evaluation.metrics import roc_auc

    logits = np.asarray(pred.predictions)
    labels = np.asarray(pred.label_ids)
    margin = logits[:, 1] - logits[:, 0]
    auc = roc_auc(labels.tolist(), margin.tolist()) if len(set(labels.tolist())) == 2 else 0.5
    return {"roc_auc": float(auc)}


def fine_tune(cfg: TrainConfig, base: ResolvedBase, data: PreparedData) -> tuple[Any, dict[str, float]]:
    """Train with the HF Trainer; returns the best model (restored) and training metrics."""
    import torch
    from transformers import EarlyStoppingCallback, TrainingArguments, set_seed

    h = cfg.training
    if h.torch_threads:
        torch.set_num_threads(h.torch_threads)
    set_seed(cfg.seed)
    model = load_model(base, cfg)
    max_pos = getattr(model.config, "max_position_embeddings", cfg.windows.max_length)
    if cfg.windows.max_length > max_pos:
        raise ConfigError(f"windows.max_length {cfg.windows.max_length} exceeds the model's {max_pos} positions")
    eval_set = data.val
    if h.max_eval_windows and len(eval_set) > h.max_eval_windows:
        rng = np.random.default_rng(cfg.seed)
        eval_set = eval_set.subset(sorted(rng.choice(len(eval_set), h.max_eval_windows, replace=False).tolist()))
    run_dir = cfg.work_dir / cfg.name / "trainer"
    args = TrainingArguments(
        output_dir=str(run_dir),
        learning_rate=h.learning_rate, weight_decay=h.weight_decay, warmup_steps=h.warmup_ratio,
        per_device_train_batch_size=h.batch_size, per_device_eval_batch_size=h.eval_batch_size,
        num_train_epochs=h.epochs, max_steps=h.max_steps,
        eval_strategy="steps", eval_steps=h.eval_steps, save_strategy="steps", save_steps=h.eval_steps,
        logging_steps=max(1, min(h.eval_steps, 25)), save_total_limit=2, save_only_model=True,
        load_best_model_at_end=True, metric_for_best_model="roc_auc", greater_is_better=True,
        seed=cfg.seed, data_seed=cfg.seed, report_to="none", remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = _weighted_trainer_cls()(
        model=model, args=args, data_collator=PadCollator(data.windower.pad_id),
        train_dataset=TorchWindows(data.train), eval_dataset=TorchWindows(eval_set),
        compute_metrics=_compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=h.early_stopping_patience)],
    )
    if h.class_weighting == "loss":
        trainer.class_weight = torch.tensor(class_weights(data.train.labels), dtype=torch.float32)
    t0 = time.time()
    result = trainer.train()
    best = trainer.state.best_metric  # validation ROC-AUC of the restored checkpoint
    metrics = {
        "train_seconds": time.time() - t0,
        "train_steps": float(result.global_step),
        "train_loss": float(result.training_loss),
        "train_windows": float(len(data.train)),
    }
    if best is not None:
        metrics["best_val_roc_auc_torch"] = float(best)
    return trainer.model.eval(), metrics


def save_checkpoint(model: Any, tokenizer_json: Path, path: Path) -> None:
    """The best fine-tuned checkpoint (HF format + tokenizer.json): what `groomguard export` reads."""
    import shutil

    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    shutil.copy(tokenizer_json, path / "tokenizer.json")


def is_main_process() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


@dataclass
class TrainOutcome:
    manifest: BundleManifest | None
    bundle_dir: Path
    metrics: dict[str, Any]
    model_version: str | None = None


def run_training(cfg: TrainConfig, tracking_uri: str | None = None, log: Any = print) -> TrainOutcome:
    """`groomguard train`: fine-tune, save the best checkpoint, export the bundle, track, evaluate."""
    from groomguard.training.export import ExportRequest, export_bundle
    from groomguard.training.model_card import record_evaluation
    from groomguard.training.tracking import start_run

    base = resolve_base(cfg)
    data = prepare_data(cfg, base.tokenizer_json)
    for k, v in data.summary.items():
        log(f"{k}: {v}")
    if len(data.train) == 0 or len(set(data.train.labels)) < 2:
        raise ConfigError(f"{cfg.data.train}: training windows need both classes")
    with start_run(cfg.tracking, cfg.name, tracking_uri) if is_main_process() else _null() as run:
        run.log_params(cfg.model_dump(mode="json"))
        model, train_metrics = fine_tune(cfg, base, data)
        if not is_main_process():
            return TrainOutcome(None, cfg.output_dir, train_metrics)
        save_checkpoint(model, base.tokenizer_json, cfg.checkpoint_dir)
        log(f"best checkpoint -> {cfg.checkpoint_dir}")
        req = ExportRequest(model=model, tokenizer_json=base.tokenizer_json, cfg=cfg, base_description=base.description,
                            pad_id=data.windower.pad_id, val=data.val, test=data.test, training_data=data.info,
                            train_metrics=train_metrics, data_summary=data.summary, windower=data.windower,
                            val_conversations=data.val_conversations)
        manifest = export_bundle(req, cfg.output_dir, log=log)
        log(f"bundle -> {cfg.output_dir} ({manifest.model_ref})")
        metrics: dict[str, Any] = dict(manifest.metrics)
        test_metrics, report = evaluate_test_split(cfg, log)
        if test_metrics:
            manifest = record_evaluation(cfg.output_dir, test_metrics, report)
            metrics.update(test_metrics)
        if report is not None:
            run.log_dir(report, "evaluation")
        run.log_metrics(metrics)
        version = run.log_bundle(cfg.output_dir, cfg.tracking.registered_model or f"groomguard-{cfg.name}")
        if version:
            log(f"MLflow: run {run.run_id}, registered model version {version}")
    return TrainOutcome(manifest, cfg.output_dir, metrics, version)


def _null() -> Any:
    from contextlib import nullcontext

    from groomguard.training.tracking import Run

    return nullcontext(Run())


def evaluate_test_split(cfg: TrainConfig, log: Any = print) -> tuple[dict[str, float], Path | None]:
    """Evaluate the test split through the exported bundle (exactly what is served): the full
    `groomguard evaluate` report under `evaluation.report_dir/<name>`.

    Returns the headline metrics for the bundle/MLflow and the report directory (None when skipped).
    """
    if not cfg.evaluation.enabled or cfg.data.test is None:
        return {}, None
    from groomguard.config import load_config
    from groomguard.evaluation.config import DEFAULT_EVAL_CONFIG, EvalConfig
    from groomguard.evaluation.runner import evaluate_bundle

    out_dir = cfg.evaluation.report_dir / cfg.name
    ev = cfg.evaluation
    eval_cfg = load_config(EvalConfig, ev.config, ev.overrides, default=DEFAULT_EVAL_CONFIG)
    result = evaluate_bundle(cfg.output_dir, cfg.data.test, out_dir, train_path=cfg.data.train,
                             config=eval_cfg, show_progress=True, real_benign=cfg.data.real_test,
                             real_grooming=cfg.data.real_test_grooming if cfg.data.real_test else None)
    from groomguard.evaluation.real_chat import real_chat_lines

    for line in real_chat_lines(result):
        log(line)
    auc = result["models"]["model"]["roc_auc"]
    if auc is None:  # single-class test split
        log(f"test split ROC-AUC: undefined (single class); report -> {out_dir}")
        return {}, out_dir
    log(f"test split ROC-AUC (conversation level): {auc:.4f}; report -> {out_dir}")
    headline = {"test_conversation_roc_auc": float(auc)}
    review = result["models"]["model"]["thresholds"].get("review")
    if review:
        headline["test_review_recall"] = float(review["recall"])
    for name, p in result.get("real_chat", {}).get("points", {}).items():
        if name in ("review", "high"):
            headline[f"real_test_{name}_alerts_per_1000"] = float(p["alerts_per_1000"]["value"])
            if "recall" in p:
                headline[f"real_test_grafted_{name}_recall"] = float(p["recall"]["value"])
    return headline, out_dir
