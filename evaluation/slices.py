"""Slices (tag, lang, source, length bucket) and the worst errors, for the model's primary threshold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from groomguard.evaluation.early import NO_ALERT, alert_indices
from groomguard.evaluation.metrics import MetricError, average_precision, metrics_at, roc_auc
from groomguard.evaluation.summary import ScoredSet
from groomguard.schema import Conversation


def length_bucket(n_messages: int, bounds: Sequence[int]) -> str:
    """'1-10', '11-25', ... and '101+' past the last inclusive upper bound."""
    lower = 1
    for b in sorted(bounds):
        if n_messages <= b:
            return f"{lower}-{b}"
        lower = b + 1
    return f"{lower}+"


def slice_keys(conv: Conversation, bounds: Sequence[int]) -> list[tuple[str, str]]:
    keys = [("lang", conv.lang or "(none)"), ("source", conv.source or "(none)"),
            ("length", length_bucket(len(conv.messages), bounds))]
    keys.extend(("tag", t) for t in dict.fromkeys(conv.tags))
    return keys


def _opt(fn: object, y: np.ndarray, s: np.ndarray) -> float | None:
    try:
        return float(fn(y, s))  # type: ignore[operator]
    except MetricError:
        return None


def slice_table(scored: ScoredSet, convs: Sequence[Conversation], bounds: Sequence[int],
                min_size: int) -> list[dict[str, object]]:
    """One row per (dimension, value): size, positives, AUCs (when defined), metrics at the primary threshold."""
    t = scored.thresholds[scored.primary]
    labels = np.array([c.label for c in convs], dtype=np.int64)
    risk = scored.conversation_risk
    alerts = alert_indices(scored.risk_by_message, t)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, conv in enumerate(convs):
        for key in slice_keys(conv, bounds):
            groups[key].append(i)
    rows: list[dict[str, object]] = []
    for (dim, value), members in sorted(groups.items()):
        idx = np.array(members)
        y, s, a = labels[idx], risk[idx], alerts[idx]
        point = metrics_at(y, s, t)
        big = idx.size >= min_size
        detected = a[(y == 1) & (a != NO_ALERT)] + 1
        rows.append({
            "dimension": dim, "value": value, "n": int(idx.size), "n_positive": int(y.sum()),
            "roc_auc": _opt(roc_auc, y, s) if big else None,
            "pr_auc": _opt(average_precision, y, s) if big and y.sum() else None,
            "precision": point.precision, "recall": point.recall, "f1": point.f1,
            "alerts_per_1000": point.alerts_per_1000, "fp": point.fp, "fn": point.fn,
            "median_messages_to_detection": float(np.median(detected)) if detected.size else None,
        })
    return rows


def worst_errors(scored: ScoredSet, convs: Sequence[Conversation], n: int) -> dict[str, list[dict[str, object]]]:
    """Highest-risk negatives that were flagged and lowest-risk positives that were missed (ids, no text)."""
    t = scored.thresholds[scored.primary]
    risk = scored.conversation_risk

    def entry(i: int) -> dict[str, object]:
        c = convs[i]
        r = scored.risk_by_message[i]
        return {"index": i, "conversation_id": c.conversation_id, "label": c.label, "risk": float(risk[i]),
                "peak_message": int(np.argmax(r)), "n_messages": len(c.messages), "source": c.source,
                "lang": c.lang, "tags": list(c.tags), "first_risk_index": c.first_risk_index}

    fps = [i for i in np.argsort(-risk, kind="mergesort") if convs[i].label == 0 and risk[i] >= t][:n]
    fns = [i for i in np.argsort(risk, kind="mergesort") if convs[i].label == 1 and risk[i] < t][:n]
    return {"false_positives": [entry(int(i)) for i in fps], "false_negatives": [entry(int(i)) for i in fns]}
