"""Scores and levels (DESIGN.md "Scores").

risk = calibrated P(grooming) for a window = softmax(logits / T)[positive]. A conversation's risk at
message i is the window risk at i; its overall risk is the running maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

Level = Literal["low", "review", "high"]
LEVELS: tuple[Level, ...] = ("low", "review", "high")


class Thresholds(BaseModel):
    """Operating thresholds on calibrated risk; chosen on validation data, stored in the bundle."""

    review: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.high < self.review:
            raise ValueError("high threshold must be >= review threshold")
        return self


def risk_from_logits(logits: np.ndarray, temperature: float = 1.0, positive_index: int = 1,
                     bias: float = 0.0) -> np.ndarray:
    """Calibrated positive-class probability for a [batch, 2] logit array (numerically stable).

    risk = sigmoid((l_pos - l_neg) / T + bias): temperature scaling when bias is 0, Platt scaling
    otherwise (both fitted on validation windows; the bundle records which).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != 2:
        raise ValueError(f"expected logits of shape [batch, 2], got {list(logits.shape)}")
    margin = (logits[:, positive_index] - logits[:, 1 - positive_index]) / temperature + bias
    return 1.0 / (1.0 + np.exp(-margin))


def level_for(risk: float, thresholds: Thresholds) -> Level:
    if risk >= thresholds.high:
        return "high"
    if risk >= thresholds.review:
        return "review"
    return "low"


def running_max(risks: Sequence[float]) -> list[float]:
    out: list[float] = []
    best = 0.0
    for r in risks:
        best = max(best, float(r))
        out.append(best)
    return out


def fill_by_message(n_messages: int, ends: Sequence[int], risks: Sequence[float]) -> list[float]:
    """Risk after each message from windows scored at `ends` (stride > 1): carry the last score forward.

    Messages before the first scored window get 0.0.
    """
    out = [0.0] * n_messages
    by_end = dict(zip(ends, risks, strict=True))
    current = 0.0
    for i in range(n_messages):
        if i in by_end:
            current = float(by_end[i])
        out[i] = current
    return out
