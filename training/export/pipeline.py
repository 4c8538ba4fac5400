"""Write a model bundle from a fine-tuned PyTorch model.

Steps: ONNX fp32 (dynamic batch/sequence) -> parity gate against PyTorch -> optional int8 variant
(error vs fp32 measured) -> temperature calibration on validation windows -> operating points on
validation conversations scored as serving scores them (every prefix window, running max; false-alert
budget on the real benign chat among them) -> model card -> bundle.json via `write_manifest`. The
bundle is assembled in `<out>.partial` and only replaces `<out>` when every step passed, so a failed
export never leaves a half-written bundle.

Parity: the reference is PyTorch on each window ALONE (no padding); ONNX Runtime runs the same
windows in shuffled, right-padded batches that mix lengths. This catches a broken graph and any
padding/mask problem (the TracerWarning from transformers' masking_utils during export is about
Python control flow frozen at trace time; this check is what proves it harmless).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from groomguard import __version__ as gg_version
from groomguard.bundle import (
    MODEL_FILES,
    TOKENIZER,
    BundleManifest,
    Calibration,
    LexicalInfo,
    NormalisationInfo,
    OperatingPointInfo,
    TrainingDataInfo,
    write_manifest,
)
from groomguard.errors import ConfigError
from groomguard.evaluation.calibration import reliability
from groomguard.evaluation.thresholds import select_operating_points
from groomguard.lexical import LEXICAL_FILE, Hybrid
from groomguard.schema import Conversation
from groomguard.scores import Thresholds, risk_from_logits
from groomguard.serving.backends.onnxruntime import open_session
from groomguard.training.checkpoint_meta import reconcile_windowing
from groomguard.training.data.real_test_rule import is_real_benign
from groomguard.training.export.model_card import CardInputs, render_model_card
from groomguard.training.export.parity import ExportError, check_parity, held_out_parity_windows, ort_logits
from groomguard.training.export.temperature import calibrate, fit_temperature, nll
from groomguard.training.export.to_onnx import export_onnx
from groomguard.training.export.variant_budget import check_variants
from groomguard.training.export.variants import export_variants, served_risk
from groomguard.training.lexical_fit import FittedLexical, fit_lexical_head
from groomguard.training.train_config import ThresholdTargets, TrainConfig
from groomguard.training.windows_dataset import WindowSet
from groomguard.window_plan import WindowPlan
from groomguard.windowing import Windower, window_label


@dataclass
class ExportRequest:
    model: Any  # a transformers sequence classifier (eval mode is set here)
    tokenizer_json: Path
    cfg: TrainConfig
    base_description: str
    pad_id: int
    val: WindowSet
    test: WindowSet | None = None
    training_data: TrainingDataInfo = field(default_factory=TrainingDataInfo)
    train_metrics: dict[str, float] = field(default_factory=dict)
    data_summary: dict[str, Any] = field(default_factory=dict)
    windower: Windower | None = None  # with val_conversations: conversation-level operating points
    val_conversations: list[Conversation] = field(default_factory=list)
    data_sources: list[str] = field(default_factory=list)  # model card metadata (datasets)
    data_languages: list[str] = field(default_factory=list)  # model card metadata (language)
    lexical: FittedLexical | None = None  # the lexical head fitted on the training windows (None: transformer alone)


def _auc(labels: Sequence[int], risks: np.ndarray) -> float | None:
    from groomguard.evaluation.metrics import roc_auc

    return roc_auc(list(labels), risks.tolist()) if len(set(labels)) == 2 else None


# Batches of 8 length-sorted windows: 73 windows/s against 60 at 32 on 2 CPU cores (1,035 validation
# windows of the demo bundle, same session, one run); larger batches pad more than they save.
SCORING_BATCH = 8


@dataclass
class ValidationScores:
    """Every prefix window of the validation conversations (stride 1, as serving scores), scored once."""

    logits: np.ndarray  # [windows, 2]
    labels: np.ndarray  # window labels (`window_label`: positive from first_risk_index on)
    owner: np.ndarray  # conversation index of each window
    windows: list[list[int]] = field(default_factory=list)  # the token ids (the lexical head reads them)

    def combined(self, hybrid: Hybrid | None, pad_id: int) -> ValidationScores:
        """The same windows with the lexical head combined into the logits, as the engine serves them."""
        if hybrid is None:
            return self
        return ValidationScores(hybrid.logits_for(self.logits, self.windows, pad_id), self.labels, self.owner,
                                self.windows)

    def conversation_max(self, n_conversations: int, temperature: float, bias: float = 0.0) -> np.ndarray:
        out = np.zeros(n_conversations, dtype=np.float64)
        np.maximum.at(out, self.owner, risk_from_logits(self.logits, temperature, bias=bias))
        return out


def score_validation(session: Any, windower: Windower, convs: Sequence[Conversation],
                     show_progress: bool = True) -> ValidationScores:
    """Logits for the window ending at every message of every validation conversation."""
    plan = WindowPlan.of(windower, convs)  # every message, as serving scores (groomguard/window_plan.py)
    windows = plan.windows
    owner = plan.spans.owners()
    labels = [int(window_label(conv, end) or 0) for conv, ends in zip(convs, plan.spans.ends, strict=True)
              for end in ends]
    if not windows:
        raise ExportError("no validation windows to calibrate on")
    if show_progress:
        from groomguard.progress import progress_bar

        with progress_bar() as bar:
            task = bar.add_task("scoring validation conversations", total=len(windows))
            logits = ort_logits(session, windows, windower.pad_id, SCORING_BATCH,
                                progress=lambda n: bar.advance(task, n))
    else:
        logits = ort_logits(session, windows, windower.pad_id, SCORING_BATCH)
    return ValidationScores(logits, np.asarray(labels), np.asarray(owner), windows)


def choose_operating_points(t: ThresholdTargets, convs: Sequence[Conversation], conv_risk: np.ndarray,
                            log: Any = print) -> tuple[dict[str, OperatingPointInfo], dict[str, float]]:
    """`review`/`high` on validation conversations (running max, every message), plus per-source recall."""
    labels = np.array([int(c.label or 0) for c in convs])
    real = np.array([is_real_benign(c) for c in convs])
    if not real.any():
        log("note: no real benign chat in validation; the review alert budget uses all validation negatives")
    chosen = select_operating_points(labels, conv_risk, real, t.review_alerts_per_1000, t.high_precision,
                                     t.high_alerts_per_1000)
    points = {name: OperatingPointInfo(**p.as_dict()) for name, p in chosen.items()}
    metrics: dict[str, float] = {"val_conversations": float(len(convs)),
                                 "val_real_benign_conversations": float(real.sum())}
    for name, p in chosen.items():
        for key in ("precision", "recall", "alerts_per_1000_real"):
            value = getattr(p, key)
            if value is not None:
                metrics[f"{name}_{key}_val"] = value
        for source in sorted({c.source or "unknown" for c in convs if c.label == 1}):
            mask = np.array([c.label == 1 and (c.source or "unknown") == source for c in convs])
            tag = re.sub(r"[^A-Za-z0-9]+", "_", source)  # MLflow metric names: letters, digits, _
            metrics[f"{name}_recall_val_{tag}"] = float(np.mean(conv_risk[mask] >= p.threshold))
    return points, metrics


def _hybrid(req: ExportRequest, scored: ValidationScores,
            log: Any) -> tuple[Hybrid | None, ValidationScores, dict[str, float]]:
    """The lexical head's combination with the transformer (groomguard/lexical.py), the validation
    scores combined as the engine serves them, and each part's validation ROC-AUC on its own. The
    transformer's margin is put in log-odds units by its own validation temperature; the weight is the
    recipe's (`lexical.weight`), never fitted on a yardstick."""
    if req.lexical is None:
        return None, scored, {}
    t_transformer = fit_temperature(scored.logits, scored.labels)
    hybrid = Hybrid(req.lexical.head, req.cfg.lexical.weight, 1.0 / t_transformer)
    lexical = req.lexical.head.margins_for(scored.windows, req.pad_id)
    transformer = scored.logits[:, 1] - scored.logits[:, 0]
    metrics = {"val_window_roc_auc_transformer": _auc(scored.labels.tolist(), transformer),
               "val_window_roc_auc_lexical": _auc(scored.labels.tolist(), lexical),
               "lexical_fit_seconds": req.lexical.seconds}
    head = req.lexical.head
    log(f"lexical head: {head.n_features} n-grams of {head.units} (1-{head.ngram_max}) from "
        f"{req.lexical.n_windows} training windows in {req.lexical.seconds:.1f} s; weight {hybrid.weight:g}, "
        f"transformer temperature {t_transformer:.3f}; validation window ROC-AUC transformer "
        f"{metrics['val_window_roc_auc_transformer']:.3f}, lexical {metrics['val_window_roc_auc_lexical']:.3f}")
    combined = ValidationScores(hybrid.combine(scored.logits, lexical), scored.labels, scored.owner, scored.windows)
    return hybrid, combined, {k: v for k, v in metrics.items() if v is not None}


def _lexical_info(req: ExportRequest, hybrid: Hybrid | None, tmp: Path) -> LexicalInfo | None:
    """Write the head into the staged bundle and describe it for bundle.json."""
    if hybrid is None or req.lexical is None:
        return None
    hybrid.head.save(tmp / LEXICAL_FILE)
    return LexicalInfo(weight=hybrid.weight, transformer_scale=hybrid.transformer_scale,
                       ngram_max=hybrid.head.ngram_max, features=hybrid.head.n_features,
                       units=hybrid.head.units,
                       train_windows=req.lexical.n_windows, extra_benign_windows=req.lexical.n_extra_benign)


def staging_dir(out: Path) -> Path:
    """Where a bundle is built before it is moved to `out` in one rename."""
    return out.with_name(out.name + ".partial")


def publish_bundle(staged: Path, out: Path) -> None:
    """Move a finished bundle into place (readers see the old bundle or the new one, never a mix)."""
    if out.exists():
        shutil.rmtree(out)
    staged.rename(out)


def export_bundle(req: ExportRequest, out: Path, log: Any = print, publish: bool = True) -> BundleManifest:
    """Build the bundle in `staging_dir(out)`; then (`publish`) move it to `out`. Returns the manifest.

    `publish=False` leaves it staged, so that training can add the test-split evaluation before the
    one rename (`publish_bundle`): the bundle is written once and never rewritten in place.
    """
    cfg = req.cfg
    out = Path(out)
    tmp = staging_dir(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model = req.model.eval()
    shutil.copy(req.tokenizer_json, tmp / TOKENIZER)

    fp32 = export_onnx(model, tmp / MODEL_FILES["fp32"])
    probe = held_out_parity_windows(req.val.input_ids, cfg.export.parity_windows, cfg.seed)
    parity = check_parity(model, fp32, probe, req.pad_id, cfg.export.parity_tolerance)
    log(f"ONNX parity: max |Δ prob| {parity:.2e} over {len(probe)} mixed-length windows "
        f"(limit {cfg.export.parity_tolerance:g})")
    fp32_sess = open_session(fp32, threads=cfg.training.torch_threads)

    if req.windower is None or not req.val_conversations:
        raise ExportError("export needs the validation conversations and the windower (conversation thresholds)")
    scored = score_validation(fp32_sess, req.windower, req.val_conversations)
    hybrid, scored, part_metrics = _hybrid(req, scored, log)
    val_logits, val_y = scored.logits, scored.labels
    temperature, bias, t_only = calibrate(val_logits, val_y, cfg.export.calibration)
    val_risk = risk_from_logits(val_logits, temperature, bias=bias)
    # variants after calibration: their error vs fp32 is measured on the risk serving returns
    variants = export_variants(model, tmp, probe, req.val.input_ids, req.pad_id, cfg.export,
                               cfg.training.torch_threads or 1, log, calibration=(temperature, bias), hybrid=hybrid)
    ece = reliability(val_y, val_risk).ece
    ece_temperature_only = reliability(val_y, risk_from_logits(val_logits, t_only)).ece
    conv_risk = scored.conversation_max(len(req.val_conversations), temperature, bias)
    points, point_metrics = choose_operating_points(cfg.thresholds, req.val_conversations, conv_risk, log)
    # the thresholds must hold on what `auto` serves, not only on fp32 (training/export/variant_budget.py)
    labels = np.array([int(c.label or 0) for c in req.val_conversations])
    real = np.array([is_real_benign(c) for c in req.val_conversations])

    def variant_conv_risk(sess: Any, which: np.ndarray) -> np.ndarray:
        convs = [req.val_conversations[int(i)] for i in which]
        again = score_validation(sess, req.windower, convs)  # type: ignore[arg-type]
        again = again.combined(hybrid, req.pad_id)
        return again.conversation_max(len(convs), temperature, bias)

    check_variants(variants, tmp, variant_conv_risk, conv_risk, labels, real, points, cfg.thresholds, cfg.export,
                   cfg.training.torch_threads or 1, log)
    metrics: dict[str, Any] = {
        **req.train_metrics,
        "onnx_parity_max_abs_delta_prob": parity,
        "val_windows": len(req.val),
        "val_windows_all_prefixes": len(val_y),
        "val_window_roc_auc": _auc(val_y.tolist(), val_risk),
        "val_nll_raw": nll(val_logits, val_y, 1.0),
        "val_nll_calibrated": nll(val_logits, val_y, temperature, bias),
        "val_window_ece": ece,
        "val_window_ece_temperature_only": ece_temperature_only,
        **point_metrics,
        **part_metrics,
    }
    if req.test is not None and len(req.test):
        test_risk = served_risk(ort_logits(fp32_sess, req.test.input_ids, req.pad_id), req.test.input_ids,
                                req.pad_id, (temperature, bias), hybrid)
        metrics["test_windows"] = len(req.test)
        metrics["test_window_roc_auc"] = _auc(req.test.labels, test_risk)
    log(f"calibration: {cfg.export.calibration} T={temperature:.3f} bias={bias:.3f} (val window ECE {ece:.3f}, "
        f"temperature alone {ece_temperature_only:.3f}); "
        f"thresholds review={points['review'].threshold:.3f} high={points['high'].threshold:.3f}")

    manifest = BundleManifest(
        name=cfg.name,
        version=cfg.version or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        groomguard_version=gg_version,
        base_model=req.base_description,
        max_length=cfg.windows.max_length,
        stride=cfg.windows.stride,
        # what the windows were actually rendered with (never the library's current constant)
        normalisation=NormalisationInfo(version=req.windower.config.normalisation.version,
                                        deobfuscate=req.windower.config.normalisation.deobfuscate),
        thresholds=Thresholds(review=points["review"].threshold, high=points["high"].threshold),
        calibration=Calibration(method=cfg.export.calibration, temperature=temperature, bias=bias, ece_val=ece),
        operating_points=points,
        variants=variants,
        lexical=_lexical_info(req, hybrid, tmp),
        pad_token_id=req.pad_id,
        training_data=req.training_data,
        metrics={k: v for k, v in metrics.items() if v is not None},
    )
    card = CardInputs(manifest=manifest, cfg=cfg, data_summary=req.data_summary, sources=req.data_sources,
                      languages=req.data_languages)
    (tmp / "model_card.md").write_text(render_model_card(card), encoding="utf-8")
    manifest = write_manifest(tmp, manifest)
    if publish:
        publish_bundle(tmp, out)
    return manifest


def run_export(cfg: TrainConfig, checkpoint: Path, out: Path, log: Any = print) -> BundleManifest:
    """`groomguard export`: bundle a fine-tuned checkpoint without training (same gates as train)."""
    from transformers import AutoModelForSequenceClassification

    from groomguard.training.base_model import resolve_base
    from groomguard.training.data.prepare import prepare_data

    if not (checkpoint / "config.json").is_file():
        raise ConfigError(f"{checkpoint}: not a checkpoint directory (no config.json)")
    cfg = reconcile_windowing(cfg, checkpoint, "export")
    tok = checkpoint / "tokenizer.json"
    tokenizer_json = tok if tok.is_file() else resolve_base(cfg).tokenizer_json
    data = prepare_data(cfg, tokenizer_json, need_train=cfg.lexical.enabled)  # the lexical head is refitted
    try:
        model = AutoModelForSequenceClassification.from_pretrained(  # nosec B615  # a local checkpoint directory
            str(checkpoint), attn_implementation="eager")
    except OSError as exc:
        raise ConfigError(f"{checkpoint}: cannot load checkpoint ({exc.__class__.__name__})") from None
    req = ExportRequest(model=model.eval(), tokenizer_json=tokenizer_json, cfg=cfg,
                        base_description=f"{cfg.base_model} fine-tuned ({checkpoint})", pad_id=data.windower.pad_id,
                        val=data.val, test=data.test, training_data=data.info, data_summary=data.summary,
                        windower=data.windower, val_conversations=data.val_conversations,
                        data_sources=data.sources, data_languages=data.languages,
                        lexical=fit_lexical_head(cfg, data))
    manifest = export_bundle(req, out, log=log)
    log(f"bundle -> {out} ({manifest.model_ref})")
    return manifest
