"""Labelled training windows, built with the same `Windower` that serving uses.

Nothing here tokenises on its own: per-message ids and windows come from
`groomguard.windowing.Windower` and labels from `window_label`, so training/serving skew in
rendering, roles, normalisation or truncation is impossible by construction.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.windowing import Windower, pad_batch, window_label


@dataclass
class WindowSet:
    """Token-id windows with 0/1 labels and the conversation each came from."""

    input_ids: list[list[int]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    conversation_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_pos(self) -> int:
        return int(sum(self.labels))

    def subset(self, idx: Sequence[int]) -> WindowSet:
        return WindowSet([self.input_ids[i] for i in idx], [self.labels[i] for i in idx],
                         [self.conversation_ids[i] for i in idx])


@dataclass(frozen=True)
class SplitInfo:
    """What a data file contributed: used for fingerprints and the model card."""

    path: Path
    n_conversations: int
    n_positive_conversations: int
    sources: tuple[str, ...]


def _conv_rng(seed: int, conversation_id: str) -> random.Random:
    """Per-conversation RNG: sampling does not depend on file order or on other conversations."""
    digest = hashlib.sha256(f"{seed}:{conversation_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def sample_ends(conv: Conversation, ends: Sequence[int], k: int, seed: int) -> list[int]:
    """Up to k window ends, seeded. For a grooming conversation with `first_risk_index`, half the
    draws (rounded up) come from at/after it, so positives are not starved by the benign lead-in."""
    ends = list(ends)
    if k <= 0 or len(ends) <= k:
        return ends
    rng = _conv_rng(seed, conv.conversation_id)
    if conv.label == 1 and conv.first_risk_index is not None:
        late = [e for e in ends if e >= conv.first_risk_index]
        early = [e for e in ends if e < conv.first_risk_index]
        n_late = min(len(late), (k + 1) // 2)
        picked = rng.sample(late, n_late) if late else []
        picked += rng.sample(early, min(len(early), k - n_late))
        rest = [e for e in ends if e not in picked]
        picked += rng.sample(rest, k - len(picked)) if len(picked) < k else []
        return sorted(picked)
    return sorted(rng.sample(ends, k))


def read_conversations(path: Path) -> list[Conversation]:
    """All labelled conversations of a split (strict: a malformed line stops training)."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found (build the demo data with `make model`)")
    convs = [c for c in iter_jsonl(path, strict=True) if c.label is not None]
    if not convs:
        raise DataError(f"{path}: no labelled conversations")
    return convs


def split_info(path: Path, convs: Sequence[Conversation]) -> SplitInfo:
    return SplitInfo(path, len(convs), sum(1 for c in convs if c.label == 1),
                     tuple(sorted({c.source or "unknown" for c in convs})))


def build_windows(convs: Iterable[Conversation], windower: Windower, per_conversation: int, seed: int,
                  by_source: dict[str, int] | None = None) -> WindowSet:
    """Sampled, labelled prefix windows (stride from the windower's config); `by_source` overrides
    `per_conversation` for conversations of the named sources."""
    out = WindowSet()
    by_source = by_source or {}
    for conv in convs:
        ids = windower.encode_messages(conv.messages)
        k = by_source.get(conv.source or "", per_conversation)
        for end in sample_ends(conv, windower.window_ends(len(ids)), k, seed):
            label = window_label(conv, end)
            if label is None:
                continue
            out.input_ids.append(windower.window_ids(ids, end))
            out.labels.append(label)
            out.conversation_ids.append(conv.conversation_id)
    return out


def class_weights(labels: Sequence[int]) -> list[float]:
    """Inverse-frequency weights n / (2 * n_c); unweighted when a class is absent."""
    n = len(labels)
    n_pos = int(sum(labels))
    if n_pos in (0, n):
        return [1.0, 1.0]
    return [n / (2.0 * (n - n_pos)), n / (2.0 * n_pos)]


class TorchWindows:
    """A map-style dataset over a WindowSet (what transformers' Trainer expects)."""

    def __init__(self, windows: WindowSet) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.windows.input_ids[i], "labels": self.windows.labels[i]}


class PadCollator:
    """Dynamic padding to the longest window in the batch, via the contract's `pad_batch`."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        batch = pad_batch([f["input_ids"] for f in features], self.pad_id)
        return {
            "input_ids": torch.from_numpy(batch.input_ids),
            "attention_mask": torch.from_numpy(batch.attention_mask),
            "labels": torch.tensor(np.array([f["labels"] for f in features]), dtype=torch.long),
        }
