"""Fine-tune a sequence classifier on labelled windows and export the bundle.

Pipeline: resolve + verify the base model -> windows via `Windower` (tokenizers only; the same
code serving runs) -> transformers `Trainer` with class-weighted cross-entropy, dynamic padding,
evaluation every `eval_steps` with early stopping on validation ROC-AUC and the best checkpoint
restored -> bundle export (training/export/pipeline.py) -> MLflow -> test-split evaluation.

Multi-GPU: run the same command under `torchrun --nproc_per_node N -m groomguard train ...`
or `accelerate launch`; the Trainer handles distribution. Export/evaluation then run on rank 0 only.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.bundle import BundleManifest
from groomguard.errors import ConfigError
from groomguard.training.base_model import ResolvedBase, load_model, resolve_base
from groomguard.training.checkpoint_meta import reconcile_windowing, write_meta
from groomguard.training.data.prepare import PreparedData, prepare_data
from groomguard.training.lexical_fit import fit_lexical_head
from groomguard.training.tracking import Run, step_metrics_callback
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


def fine_tune(cfg: TrainConfig, base: ResolvedBase, data: PreparedData, run: Run | None = None,
              resume: bool = False) -> tuple[Any, dict[str, float]]:
    """Train with the HF Trainer; returns the best model (restored) and training metrics.

    Step metrics (loss, learning rate, validation ROC-AUC) go to `run`. `resume` continues from the
    last checkpoint in the run's Trainer directory (weights, optimizer, scheduler, RNG, data position).
    """
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
    run_dir = trainer_dir(cfg)
    last = last_checkpoint(run_dir) if resume else None
    # Under torchrun on CPU-only hosts accelerate enables DDP only with use_cpu (gloo); on GPUs it picks NCCL.
    cpu_ddp = world_size() > 1 and not torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(run_dir),
        learning_rate=h.learning_rate, weight_decay=h.weight_decay, **warmup_argument(h.warmup_ratio),
        per_device_train_batch_size=h.batch_size, per_device_eval_batch_size=h.eval_batch_size,
        num_train_epochs=h.epochs, max_steps=h.max_steps,
        eval_strategy="steps", eval_steps=h.eval_steps, save_strategy="steps", save_steps=h.eval_steps,
        logging_steps=max(1, min(h.eval_steps, 25)), save_total_limit=2,  # optimizer state kept: --resume
        load_best_model_at_end=True, metric_for_best_model="roc_auc", greater_is_better=True,
        seed=cfg.seed, data_seed=cfg.seed, report_to="none", remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=cpu_ddp, ddp_backend="gloo" if cpu_ddp else None, ddp_find_unused_parameters=False,
    )
    trainer = _weighted_trainer_cls()(
        model=model, args=args, data_collator=PadCollator(data.windower.pad_id),
        train_dataset=TorchWindows(data.train), eval_dataset=TorchWindows(eval_set),
        compute_metrics=_compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=h.early_stopping_patience),
                   *([step_metrics_callback(run)] if run is not None and run.active else [])],
    )
    if h.class_weighting == "loss":
        trainer.class_weight = torch.tensor(class_weights(data.train.labels), dtype=torch.float32)
    t0 = time.time()
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    best = trainer.state.best_metric  # validation ROC-AUC of the restored checkpoint
    metrics = {
        "train_seconds": time.time() - t0,
        "train_steps": float(result.global_step),
        "train_loss": float(result.training_loss),
        "train_windows": float(len(data.train)),
    }
    if best is not None:
        metrics["best_val_roc_auc_torch"] = float(best)
    metrics["train_processes"] = float(args.world_size)  # data-parallel processes the Trainer really used
    _leave_process_group()
    return trainer.model.eval(), metrics


def trainer_dir(cfg: TrainConfig) -> Path:
    """Where the Trainer writes its checkpoints (checkpoint-<step>/) for this recipe."""
    return cfg.work_dir / cfg.name / "trainer"


def last_checkpoint(run_dir: Path) -> Path:
    """The newest `checkpoint-<step>` with optimizer state; a clear error when there is none."""
    found = ((re.fullmatch(r"checkpoint-(\d+)", p.name), p) for p in run_dir.glob("checkpoint-*"))
    steps = sorted((int(m.group(1)), p) for m, p in found if m and (p / "trainer_state.json").is_file())
    if not steps:
        raise ConfigError(f"--resume: no Trainer checkpoint in {run_dir} (train once without --resume first)")
    path = steps[-1][1]
    if not (path / "optimizer.pt").is_file():
        raise ConfigError(f"--resume: {path} has no optimizer state (saved with save_only_model)")
    return path


def warmup_argument(ratio: float) -> dict[str, Any]:
    """transformers 5 takes a fraction < 1 in `warmup_steps` (and drops `warmup_ratio` in 5.2);
    4.x reads `warmup_steps` as a step count and the fraction from `warmup_ratio`."""
    import transformers

    major = int(transformers.__version__.split(".")[0])
    return {"warmup_steps": ratio} if major >= 5 else {"warmup_ratio": ratio}


def save_checkpoint(model: Any, tokenizer_json: Path, path: Path, cfg: TrainConfig) -> None:
    """The best fine-tuned checkpoint (HF format + tokenizer.json): what `groomguard export` reads."""
    import shutil

    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    shutil.copy(tokenizer_json, path / "tokenizer.json")
    write_meta(cfg, path)


def is_main_process() -> bool:
    """Rank 0 of a torchrun/accelerate launch (or a plain single process): the one that exports and tracks."""
    import os

    return os.environ.get("RANK", "0") == "0"


def world_size() -> int:
    import os

    return int(os.environ.get("WORLD_SIZE", "1"))


def _leave_process_group() -> None:
    """After training no collective runs: ranks meet once, then leave, so rank 0 exports alone
    and the others exit without waiting for it (or tripping a collective timeout)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


@dataclass
class TrainOutcome:
    manifest: BundleManifest | None
    bundle_dir: Path
    metrics: dict[str, Any]
    model_version: str | None = None


def run_training(cfg: TrainConfig, tracking_uri: str | None = None, log: Any = print,
                 resume: bool = False) -> TrainOutcome:
    """`groomguard train`: fine-tune, save the best checkpoint, export the bundle, track, evaluate.

    `resume`: continue from the last Trainer checkpoint of this recipe (`--resume`)."""
    from groomguard.training.export.model_card import record_evaluation
    from groomguard.training.export.pipeline import ExportRequest, export_bundle, publish_bundle, staging_dir
    from groomguard.training.tracking import start_run

    if resume:
        last_checkpoint(trainer_dir(cfg))  # fail in a second, before data preparation and the MLflow run
        cfg = reconcile_windowing(cfg, trainer_dir(cfg), "--resume")
    elif is_main_process():
        write_meta(cfg, trainer_dir(cfg))  # what --resume will continue with
    base = resolve_base(cfg)
    data = prepare_data(cfg, base.tokenizer_json)
    for k, v in data.summary.items() if is_main_process() else ():
        log(f"{k}: {v}")
    if len(data.train) == 0 or len(set(data.train.labels)) < 2:
        raise ConfigError(f"{cfg.data.train}: training windows need both classes")
    with start_run(cfg.tracking, cfg.name, tracking_uri) if is_main_process() else _null() as run:
        run.log_params(cfg.model_dump(mode="json"))
        model, train_metrics = fine_tune(cfg, base, data, run, resume)
        if not is_main_process():
            return TrainOutcome(None, cfg.output_dir, train_metrics)
        save_checkpoint(model, base.tokenizer_json, cfg.checkpoint_dir, cfg)
        log(f"best checkpoint -> {cfg.checkpoint_dir}")
        lexical = fit_lexical_head(cfg, data)
        req = ExportRequest(model=model, tokenizer_json=base.tokenizer_json, cfg=cfg, base_description=base.description,
                            pad_id=data.windower.pad_id, val=data.val, test=data.test, training_data=data.info,
                            train_metrics=train_metrics, data_summary=data.summary, windower=data.windower,
                            val_conversations=data.val_conversations, data_sources=data.sources,
                            data_languages=data.languages, lexical=lexical)
        manifest = export_bundle(req, cfg.output_dir, log=log, publish=False)
        staged = staging_dir(cfg.output_dir)
        metrics: dict[str, Any] = dict(manifest.metrics)
        test_metrics, report = evaluate_test_split(cfg, log, bundle_dir=staged)
        if test_metrics:  # recorded before the bundle moves into place: it is written once
            manifest = record_evaluation(staged, test_metrics, report)
            metrics.update(test_metrics)
        publish_bundle(staged, cfg.output_dir)
        log(f"bundle -> {cfg.output_dir} ({manifest.model_ref})")
        if report is not None:
            run.log_dir(report, "evaluation")
        run.log_metrics(metrics)
        version = run.log_bundle(cfg.output_dir, cfg.tracking.registered_model or f"groomguard-{cfg.name}", metrics)
        if version:
            log(f"MLflow: run {run.run_id}, registered model version {version}")
    return TrainOutcome(manifest, cfg.output_dir, metrics, version)


def _null() -> Any:
    from contextlib import nullcontext

    from groomguard.training.tracking import Run

    return nullcontext(Run())


def evaluate_test_split(cfg: TrainConfig, log: Any = print,
                        bundle_dir: Path | None = None) -> tuple[dict[str, float], Path | None]:
    """Evaluate the test split through the exported bundle (exactly what is served): the full
    `groomguard evaluate` report under `evaluation.report_dir/<name>`.

    Returns the headline metrics for the bundle/MLflow and the report directory (None when skipped).
    """
    if not cfg.evaluation.enabled or cfg.data.test is None:
        return {}, None
    from groomguard.config import load_config
    from groomguard.evaluation.config import DEFAULT_EVAL_CONFIG, EvalConfig
    from groomguard.evaluation.runner import evaluate_bundle
    from groomguard.evaluation.yardsticks import YardstickPaths

    out_dir = cfg.evaluation.report_dir / cfg.name
    ev = cfg.evaluation
    eval_cfg = load_config(EvalConfig, ev.config, ev.overrides, default=DEFAULT_EVAL_CONFIG)
    d = cfg.data
    paths = YardstickPaths(d.handwritten, d.real_test_full, d.test_disjoint,
                           d.real_test_grooming if (d.test_disjoint or d.real_test_grooming_same) else None,
                           d.real_test_grooming_same)
    result = evaluate_bundle(bundle_dir or cfg.output_dir, cfg.data.test, out_dir, train_path=cfg.data.train,
                             config=eval_cfg, show_progress=True, real_benign=cfg.data.real_test,
                             real_grooming=cfg.data.real_test_grooming if cfg.data.real_test else None,
                             yardsticks=paths, recorded_as=cfg.output_dir)
    from groomguard.evaluation.real_chat import real_chat_lines
    from groomguard.evaluation.yardsticks import yardstick_headline, yardstick_lines

    for line in [*real_chat_lines(result), *yardstick_lines(result)]:
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
    headline.update(yardstick_headline(result))
    for name, p in result.get("real_chat", {}).get("points", {}).items():
        if name in ("review", "high"):
            headline[f"real_test_{name}_alerts_per_1000"] = float(p["alerts_per_1000"]["value"])
            if "recall" in p:
                headline[f"real_test_grafted_{name}_recall"] = float(p["recall"]["value"])
    return headline, out_dir
