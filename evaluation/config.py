"""Evaluation settings: the schema of configs/eval.yaml (defaults live in the YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.store.config import AccountsConfig

DEFAULT_EVAL_CONFIG = "eval.yaml"  # packaged default (groomguard.configs)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LatencyConfig(_Strict):
    p: float = Field(default=0.0078, gt=0.0)


class CalibrationConfig(_Strict):
    bins: int = Field(default=10, ge=1)


class BootstrapConfig(_Strict):
    resamples: int = Field(default=1000, ge=1)
    seed: int = 0
    level: float = Field(default=0.95, gt=0.0, lt=1.0)


class SlicesConfig(_Strict):
    length_buckets: list[int] = Field(default_factory=lambda: [10, 25, 50, 100])
    min_size: int = Field(default=5, ge=1)
    worst_errors: int = Field(default=5, ge=0)


class TfidfConfig(_Strict):
    enabled: bool = True
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_windows_per_conversation: int = Field(default=4, ge=1)
    max_train_windows: int = Field(default=20000, ge=10)
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    max_features: int = Field(default=50000, ge=10)
    c: float = Field(default=4.0, gt=0.0)
    seed: int = 0


class KeywordsConfig(_Strict):
    enabled: bool = True
    path: Path | None = None
    threshold: float = Field(default=0.75, ge=0.0, le=1.0)


class BaselinesConfig(_Strict):
    tfidf: TfidfConfig = Field(default_factory=TfidfConfig)
    keywords: KeywordsConfig = Field(default_factory=KeywordsConfig)


class RealChatConfig(_Strict):
    """`--real-benign` / `--real-grooming`: the TF-IDF comparison picks its operating points on the
    validation split with the same rule as training (keep these equal to the training config's)."""

    tfidf_comparison: bool = True
    review_alerts_per_1000: float = Field(default=20.0, ge=0, le=1000)
    high_precision: float = Field(default=0.9, gt=0, le=1)
    high_alerts_per_1000: float = Field(default=2.0, ge=0, le=1000)


class AccountsEvalConfig(_Strict):
    """`--accounts` (evaluation/accounts.py): the account rule as served, and how its minimum risk is
    chosen on `--accounts-val`. Keep `rule` equal to configs/serve.yaml `accounts:`."""

    rule: AccountsConfig = Field(default_factory=AccountsConfig)
    # candidate rule_min_risk values, as fractions of the bundle's review threshold (1.0 is always tried)
    min_risk_fractions: list[float] = Field(default_factory=lambda: [0.3, 0.45, 0.6, 0.75, 0.9, 1.0])
    max_false_flag_rate: float = Field(default=0.05, ge=0, le=1)  # of non-grooming validation accounts
    # candidate rule_conversations tried beside each minimum (empty: only rule.rule_conversations)
    rule_conversations_candidates: list[int] = Field(default_factory=list)
    # the best single conversation at the same budget: conversation thresholds tried, as multiples of
    # review (those below 1), beside review and high
    # (each at least 1: review or stricter)
    single_conversation_multiples: list[Annotated[float, Field(ge=1.0)]] = Field(
        default_factory=lambda: [1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4])

    @field_validator("rule_conversations_candidates")
    @classmethod
    def _conversations(cls, v: list[int]) -> list[int]:
        if any(n < 2 for n in v):
            raise ValueError("rule_conversations_candidates: each at least 2 (one conversation is not an account rule)")
        return v

    @field_validator("min_risk_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < f <= 2 for f in v):
            raise ValueError("min_risk_fractions: one or more fractions in (0, 2]")
        return v


class ReportConfig(_Strict):
    context_messages: int = Field(default=12, ge=1)


class MlflowConfig(_Strict):
    tracking_uri: str | None = None
    experiment: str = "groomguard-eval"


class EvalConfig(_Strict):
    stride: int = Field(default=1, ge=1)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    extra_thresholds: list[float] = Field(default_factory=list)
    target_precision: float | None = Field(default=None, gt=0.0, le=1.0)
    target_recall: float | None = Field(default=None, gt=0.0, le=1.0)
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    slices: SlicesConfig = Field(default_factory=SlicesConfig)
    baselines: BaselinesConfig = Field(default_factory=BaselinesConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    real_chat: RealChatConfig = Field(default_factory=RealChatConfig)
    accounts: AccountsEvalConfig = Field(default_factory=AccountsEvalConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
