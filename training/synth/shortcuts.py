"""Shortcut measurements: shallow-feature AUC, distinct-n-grams, most frequent message lines.

If a classifier that sees only length, punctuation, emoji, author count and timing can separate the
classes, a model can score well on synthetic data without learning any tactic — and then fail on
real chats. These numbers are what `groomguard data audit` and the tests check.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from groomguard.schema import Conversation

SHALLOW_FEATURES = ("n_messages", "mean_chars", "std_chars", "max_chars", "total_chars", "emoji_rate",
                    "question_rate", "exclaim_rate", "punct_rate", "upper_rate", "digit_rate", "n_authors",
                    "share_top_author", "median_gap_log", "mean_gap_log", "max_gap_log", "long_gap_rate")
_PUNCT = re.compile(r"[.,;:!?…]")


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or ord(ch) >= 0x1F000


def shallow_features(conv: Conversation) -> list[float]:
    texts = [m.text for m in conv.messages]
    lens = np.array([len(t) for t in texts], dtype=float)
    joined = "".join(texts)
    n_chars = max(len(joined), 1)
    authors = Counter(m.author for m in conv.messages)
    times = [m.timestamp for m in conv.messages if m.timestamp is not None]
    gaps = np.array([max((b - a).total_seconds(), 0.0) for a, b in pairwise(times)] or [0.0])
    log_gaps = np.log1p(gaps)
    n = len(texts)
    return [
        float(n), float(lens.mean()), float(lens.std()), float(lens.max()), float(lens.sum()),
        sum(_is_emoji(c) for c in joined) / n_chars,
        sum("?" in t for t in texts) / n, sum("!" in t for t in texts) / n,
        len(_PUNCT.findall(joined)) / n_chars,
        sum(c.isupper() for c in joined) / n_chars, sum(c.isdigit() for c in joined) / n_chars,
        float(len(authors)), max(authors.values()) / n,
        float(np.median(log_gaps)), float(log_gaps.mean()), float(log_gaps.max()), float((gaps > 3600).mean()),
    ]


def origin(conv: Conversation) -> str:
    """Where a conversation's *style* comes from: the first part of its source.

    ``chitchat`` and ``chitchat+synthetic`` (a real opening grafted with synthetic tactics in the
    participants' register) share an origin; ``synthetic`` is another. The style-shortcut check
    asks whether origin + shallow style predicts the label: it must not, or a model can learn
    "real-looking text is benign".
    """
    return (conv.source or "unknown").split("+", 1)[0]


def shallow_auc(convs: Sequence[Conversation], folds: int, seed: int = 0,
                with_origin: bool = False) -> dict[str, float]:
    """Cross-validated ROC-AUC of logistic regression and gradient boosting on shallow features
    (plus one-hot `origin` when `with_origin`: the style-shortcut check of a training mix)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.array([shallow_features(c) for c in convs])
    if with_origin:
        names = sorted({origin(c) for c in convs})
        onehot = np.array([[float(origin(c) == n) for n in names] for c in convs])
        x = np.hstack([x, onehot])
    y = np.array([c.label for c in convs])
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    models = {
        "logistic_regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        # Not HistGradientBoosting: its OpenMP threads crawl on a loaded 2-core machine.
        "gradient_boosting": GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed),
    }
    out = {}
    for name, model in models.items():
        p = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
        out[name] = float(roc_auc_score(y, p))
    return out


def norm_line(text: str) -> str:
    """What counts as "the same line": case and surrounding whitespace ignored."""
    return " ".join(text.lower().split())


@dataclass
class LineShare:
    line: str
    conversations: int
    share: float


def line_shares(convs: Sequence[Conversation], top: int) -> tuple[list[LineShare], float]:
    """Most frequent message lines by the share of conversations containing them."""
    counts: Counter[str] = Counter()
    for c in convs:
        counts.update({norm_line(m.text) for m in c.messages})
    n = max(len(convs), 1)
    common = [LineShare(line, k, k / n) for line, k in counts.most_common(top)]
    return common, (common[0].share if common else 0.0)


def distinct_ngrams(convs: Sequence[Conversation], max_n: int = 3) -> dict[str, float]:
    """distinct-n: unique word n-grams / total word n-grams (Li et al. 2016); higher = more varied."""
    out = {}
    for n in range(1, max_n + 1):
        seen: set[tuple[str, ...]] = set()
        total = 0
        for c in convs:
            for m in c.messages:
                w = m.text.lower().split()
                grams = [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
                total += len(grams)
                seen.update(grams)
        out[f"distinct_{n}"] = len(seen) / total if total else 0.0
    return out
