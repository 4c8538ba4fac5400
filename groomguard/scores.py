"""Scores and levels (docs/design.md "Scores").

risk = calibrated P(grooming) for a window = softmax(logits / T)[positive], in [0, 1) (see RISK_MAX).
A conversation's risk at message i is the window risk at i; its overall risk is the running maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

RISK_MAX = float(np.nextafter(1.0, 0.0))  # the highest risk: 1 - 2**-53
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
    # Capped just below 1.0 (a margin over ~37 rounds to exactly 1.0 in float64): a threshold of 1.0 then
    # means "never", and a budget threshold just above the highest benign risk always fits in [0, 1].
    return np.minimum(1.0 / (1.0 + np.exp(-margin)), RISK_MAX)


def level_for(risk: float, thresholds: Thresholds) -> Level:
    if risk >= thresholds.high:
        return "high"
    if risk >= thresholds.review:
        return "review"
    return "low"


ConversationRule = Literal["max", "k_of_n", "mean_n"]


def alert_scores(risks: Sequence[float], rule: ConversationRule = "max", k: int = 1, n: int = 1) -> list[float]:
    """Per-message alert scores from window risks r_1..r_i; a conversation alerts at a threshold when
    the maximum score so far reaches it.

    - `max`: s_i = r_i (a single window decides);
    - `k_of_n`: s_i = the k-th highest of the last n window risks (k of n windows must agree; fewer
      than k windows so far count as 0);
    - `mean_n`: s_i = the mean of the last n window risks (missing ones count as 0).
    The rule travels in the bundle; training, evaluation and serving all call this function.
    """
    if rule == "max":
        return [float(r) for r in risks]
    if not 1 <= k <= n:
        raise ValueError(f"conversation rule needs 1 <= k <= n, got k={k}, n={n}")
    out: list[float] = []
    for i in range(len(risks)):
        last = sorted((float(r) for r in risks[max(0, i - n + 1) : i + 1]), reverse=True)
        if rule == "k_of_n":
            out.append(last[k - 1] if len(last) >= k else 0.0)
        else:
            out.append(sum(last) / n)
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
