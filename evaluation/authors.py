"""Author-level detection (PAN12 problem 1: which authors are predators).

Attribution rule (documented in docs/evaluation.md): in a flagged conversation the risk is attributed
to the author whose own messages end the highest-risk windows — each author's score is the maximum
window risk over windows that end at one of their messages, and the highest-scoring author is
flagged (ties: the author who reached that score first). A window ending at a message is the model's
judgement right after that author spoke, so this names the participant whose turns drove the score.
An author is a predicted predator when they are attributed in at least one flagged conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from groomguard.evaluation.metrics import MetricError, f_beta, safe_div


@dataclass(frozen=True)
class AuthorView:
    """What attribution needs from one scored conversation (handles stay in memory, never logged)."""

    authors: list[str]  # author of each message
    window_ends: list[int]  # message indices where a window was scored
    risk_by_message: list[float]
    predator_ids: list[str]


def attributed_author(view: AuthorView) -> str:
    """The author the conversation's risk is attributed to (see module docstring)."""
    if not view.window_ends:
        raise MetricError("attributed_author: conversation has no scored windows")
    best_author = ""
    best = -1.0
    for end in sorted(view.window_ends):
        r = view.risk_by_message[end]
        if r > best:
            best, best_author = r, view.authors[end]
    return best_author


def author_metrics(views: Sequence[AuthorView], flagged: Iterable[bool]) -> dict[str, float | int]:
    """Precision/recall/F1/F0.5 of flagged authors against the union of `predator_ids`.

    The universe is every author who speaks in the data; predator ids that never speak are ignored.
    """
    if not views:
        raise MetricError("author_metrics: empty input")
    universe: set[str] = set()
    truth: set[str] = set()
    predicted: set[str] = set()
    for view, is_flagged in zip(views, flagged, strict=True):
        universe.update(view.authors)
        truth.update(a for a in view.predator_ids if a in view.authors)
        if is_flagged:
            predicted.add(attributed_author(view))
    tp = len(predicted & truth)
    fp = len(predicted - truth)
    fn = len(truth - predicted)
    precision = safe_div(tp, tp + fp)
    recall = safe_div(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": f_beta(precision, recall, 1.0),
            "f0_5": f_beta(precision, recall, 0.5), "tp": tp, "fp": fp, "fn": fn,
            "n_authors": len(universe), "n_predators": len(truth)}
