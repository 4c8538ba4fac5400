"""What every extra evaluation set (real chat, yardsticks) needs, computed once per `evaluate`.

The model is scored through the serving engine exactly as `groomguard serve` scores it, at stride 1
unless a caller asks for the main set's stride (the synthetic yardsticks, beside the main set);
TF-IDF (trained once on the same training file) is scored on the same windows, at operating points
chosen on the same validation file by the bundle's own rule, so every comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groomguard.bundle import Bundle
from groomguard.evaluation.baselines import tfidf_score
from groomguard.evaluation.config import EvalConfig
from groomguard.evaluation.real_chat import REAL_STRIDE, val_operating_points
from groomguard.evaluation.summary import EvalSettings, ScoredSet
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation

ModelScorer = Callable[[Sequence[Conversation], int, str], ScoredSet]


@dataclass
class EvalContext:
    bundle: Bundle
    cfg: EvalConfig
    settings: EvalSettings
    score_model: ModelScorer  # (conversations, stride, what) -> the engine's ScoredSet
    model_thresholds: dict[str, float]  # review/high as served (bundle, or --review overrides)
    train_convs: list[Conversation] = field(default_factory=list)
    tfidf_model: Any = None
    _val: list[Conversation] | None = None
    _tfidf_thresholds: dict[str, float] | None = None

    @property
    def val(self) -> list[Conversation]:
        """The bundle's validation split (thresholds were chosen on it), when it is on this machine."""
        if self._val is None:
            path = self.bundle.manifest.training_data.val_path
            self._val = list(iter_jsonl(Path(path))) if path and Path(path).is_file() else []
        return self._val

    @property
    def seen(self) -> list[Conversation]:
        """Everything the model was trained, tuned or calibrated on that is at hand (held-out checks)."""
        return [*self.train_convs, *self.val]

    def model(self, convs: Sequence[Conversation], what: str, stride: int = REAL_STRIDE) -> ScoredSet:
        return self.score_model(convs, stride, what)

    def tfidf(self, convs: Sequence[Conversation], stride: int = REAL_STRIDE) -> ScoredSet | None:
        if self.tfidf_thresholds() is None:
            return None
        return tfidf_score(self.tfidf_model, self.bundle.windower(), convs, stride, 0.5)

    def tfidf_thresholds(self) -> dict[str, float] | None:
        """TF-IDF's review/high chosen on validation by the bundle's rule (None: no TF-IDF or no val)."""
        rc = self.cfg.real_chat
        if self.tfidf_model is None or not rc.tfidf_comparison or not self.val:
            return None
        if self._tfidf_thresholds is None:
            val_scored = tfidf_score(self.tfidf_model, self.bundle.windower(), self.val, REAL_STRIDE, 0.5)
            self._tfidf_thresholds = val_operating_points(self.val, val_scored, rc.review_alerts_per_1000,
                                                          rc.high_precision, rc.high_alerts_per_1000)
        return self._tfidf_thresholds
