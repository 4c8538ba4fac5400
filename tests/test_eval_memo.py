"""Evaluation scores each distinct window once per run (evaluation/runner.py `_score_model` memo):
overlapping sets (real-test chats are prefixes of full-length ones, grafts share openings) get the
same figures as when scored alone, without scoring a window twice."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from groomguard.evaluation.config import EvalConfig
from groomguard.evaluation.runner import WindowMemo, _score_model
from groomguard.schema import Conversation, Message


def _convs() -> list[Conversation]:
    words = ["hi", "how old are you", "lol same", "where do you live", "cool game", "keep it secret", "ok"]
    return [Conversation(conversation_id=f"c{i}", label=i % 2,
                         messages=[Message(author="ab"[j % 2], text=f"{words[(i + j) % len(words)]} {i}")
                                   for j in range(6 + i)])
            for i in range(4)]


def test_a_prefix_set_is_scored_from_the_memo_with_the_same_figures(sharp_bundle_dir: Path) -> None:
    cfg = EvalConfig()
    full = _convs()
    cut = [c.model_copy(update={"conversation_id": c.conversation_id + "-cut", "messages": c.messages[:4]})
           for c in full]  # the same chats, first 4 messages: every window already scored above
    memo: WindowMemo = {}
    alone_full = _score_model(sharp_bundle_dir, full, cfg, None, (), False, stride=1)
    with_memo_full = _score_model(sharp_bundle_dir, full, cfg, None, (), False, stride=1, memo=memo)
    n_windows = sum(len(c.messages) for c in full)
    assert len(memo) == n_windows  # every window of the first set, once
    with_memo_cut = _score_model(sharp_bundle_dir, cut, cfg, None, (), False, stride=1, memo=memo)
    assert len(memo) == n_windows  # nothing new was scored for the prefixes
    alone_cut = _score_model(sharp_bundle_dir, cut, cfg, None, (), False, stride=1)
    for a, b in ((alone_full, with_memo_full), (alone_cut, with_memo_cut)):
        np.testing.assert_allclose(np.concatenate(a.risk_by_message), np.concatenate(b.risk_by_message), atol=1e-6)
    # and the prefix's risks are the full chats' first four (the window at message i sees messages <= i)
    np.testing.assert_allclose([r[:4] for r in alone_full.risk_by_message], alone_cut.risk_by_message, atol=1e-6)
