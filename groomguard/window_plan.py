"""Conversations -> every window to score -> one value per message: the one path, used everywhere.

The engine, `POST /v1/score`, the baselines and the export's validation scoring all score "the
window that ends at each message" of many conversations in one batched call and map the scores
back onto messages. Writing that mapping once is what keeps their answers equal (training/serving
skew starts with four copies of a loop). Calibration is the scorer's business, not the plan's:
export scores logits, the engine calibrated risks, the baselines TF-IDF probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from groomguard.schema import Conversation
from groomguard.scores import fill_by_message
from groomguard.windowing import Windower


@dataclass(frozen=True)
class MessageSpans:
    """Which message each window of a batch of conversations ends at, and the way back to messages."""

    ends: list[list[int]]  # per conversation: the message index each of its windows ends at
    n_messages: list[int]  # per conversation

    @classmethod
    def of(cls, windower: Windower, conversations: Sequence[Conversation], stride: int = 1) -> MessageSpans:
        return cls([windower.window_ends(len(c.messages), stride) for c in conversations],
                   [len(c.messages) for c in conversations])

    @property
    def n_windows(self) -> int:
        return sum(len(e) for e in self.ends)

    def owners(self) -> list[int]:
        """The conversation index of each window (for per-conversation reductions over windows)."""
        return [i for i, conv_ends in enumerate(self.ends) for _ in conv_ends]

    def by_message(self, scores: Sequence[float] | np.ndarray) -> list[list[float]]:
        """Per conversation, the score after each message (carried forward between strided windows)."""
        if len(scores) != self.n_windows:
            raise ValueError(f"{len(scores)} scores for {self.n_windows} windows")
        out: list[list[float]] = []
        offset = 0
        for n, conv_ends in zip(self.n_messages, self.ends, strict=True):
            out.append(fill_by_message(n, conv_ends, [float(x) for x in scores[offset : offset + len(conv_ends)]]))
            offset += len(conv_ends)
        return out


@dataclass(frozen=True)
class WindowPlan:
    """Every window's token ids, flattened for one scorer call, with the spans that map scores back."""

    windows: list[list[int]]  # conversation after conversation, in message order
    spans: MessageSpans

    @classmethod
    def of(cls, windower: Windower, conversations: Sequence[Conversation], stride: int = 1) -> WindowPlan:
        spans = MessageSpans.of(windower, conversations, stride)
        windows: list[list[int]] = []
        for conv, conv_ends in zip(conversations, spans.ends, strict=True):
            ids = windower.encode_messages(conv.messages)
            windows.extend(windower.window_ids(ids, end) for end in conv_ends)
        return cls(windows, spans)

    def by_message(self, scores: Sequence[float] | np.ndarray) -> list[list[float]]:
        return self.spans.by_message(scores)
