"""Corpus statistics for `groomguard data stats`, computed in one streaming pass.

Holds one integer per conversation and per message (lengths) plus the set of author handles;
handles are counted, never reported.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from groomguard.schema import Conversation


def distribution(values: Iterable[int]) -> dict[str, float]:
    """min / median / p95 / max / mean of a list of counts (zeros for an empty list)."""
    arr = np.asarray(values if isinstance(values, array) else list(values), dtype=np.float64)
    if arr.size == 0:
        return {"min": 0, "median": 0, "p95": 0, "max": 0, "mean": 0}
    return {
        "min": float(arr.min()),
        "median": round(float(np.median(arr)), 2),
        "p95": round(float(np.percentile(arr, 95)), 2),
        "max": float(arr.max()),
        "mean": round(float(arr.mean()), 2),
    }


@dataclass
class CorpusStats:
    """Accumulates counts; `add` one conversation at a time, then `summary()`."""

    conversations: int = 0
    messages: int = 0
    authors: set[str] = field(default_factory=set)
    predator_authors: set[str] = field(default_factory=set)
    labels: Counter[str] = field(default_factory=Counter)
    with_first_risk: int = 0
    empty_messages: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    # Compact arrays: one machine integer per conversation / message, not a Python int object.
    messages_per_conversation: array[int] = field(default_factory=lambda: array("I"))
    chars_per_message: array[int] = field(default_factory=lambda: array("I"))

    def add(self, conv: Conversation) -> None:
        self.conversations += 1
        self.messages += len(conv.messages)
        self.messages_per_conversation.append(len(conv.messages))
        for m in conv.messages:
            self.authors.add(m.author)
            self.chars_per_message.append(len(m.text))
            self.empty_messages += not m.text
        self.predator_authors.update(conv.predator_ids)
        self.labels["unlabelled" if conv.label is None else str(conv.label)] += 1
        self.with_first_risk += conv.first_risk_index is not None
        self.sources[conv.source or "(none)"] += 1
        self.langs[conv.lang or "(none)"] += 1
        self.tags.update(conv.tags)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict (what `--json` prints)."""
        labelled = self.labels["0"] + self.labels["1"]
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "authors": len(self.authors),
            "predator_authors": len(self.predator_authors),
            "labels": {"0": self.labels["0"], "1": self.labels["1"], "unlabelled": self.labels["unlabelled"]},
            "positive_rate": round(self.labels["1"] / labelled, 4) if labelled else None,
            "with_first_risk_index": self.with_first_risk,
            "empty_messages": self.empty_messages,
            "messages_per_conversation": distribution(self.messages_per_conversation),
            "chars_per_message": distribution(self.chars_per_message),
            "sources": dict(self.sources.most_common()),
            "langs": dict(self.langs.most_common()),
            "tags": dict(self.tags.most_common()),
        }


def compute_stats(conversations: Iterable[Conversation]) -> CorpusStats:
    stats = CorpusStats()
    for conv in conversations:
        stats.add(conv)
    return stats
