"""The lexical head's training windows (training/lexical_fit.py `head_windows`, issue 23): the
transformer's own windows by default; with `windows_per_conversation` its own sample of the training
conversations; with `extra_benign` every window of those chats (then a seeded sample), refused when
a chat is grooming, in the validation split or held out as real-test. Expected counts are computed
by hand from the conversations (stride 1: one window per message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.support.tiny_bundle import minilm_dir
from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.training.data.prepare import PreparedData, prepare_data
from groomguard.training.lexical_fit import head_windows
from groomguard.training.train_config import LexicalSettings, TrainConfig
from tests.support.train import make_splits

# A key of the chit-chat corpus whose sha256 starts with 0/1 (tests/test_real_chat.py HELD_OUT)
REAL_TEST_ID = "chitchat-00000000-0000-0000-0000-00000000cae4"


def _chat(cid: str, n: int, label: int | None = 0) -> Conversation:
    msgs = [Message(author="ab"[i % 2], text=f"message number {i} about the weekend") for i in range(n)]
    return Conversation(conversation_id=cid, messages=msgs, label=label)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, PreparedData, Path]:
    root = tmp_path_factory.mktemp("lexwin")
    paths = make_splits(root, n_train=12, n_eval=6)
    cfg = TrainConfig(name="t", data={"train": paths["train"], "val": paths["val"]})  # type: ignore[arg-type]
    return cfg, prepare_data(cfg, minilm_dir() / "tokenizer.json"), root


def _with(cfg: TrainConfig, **lexical: object) -> TrainConfig:
    return cfg.model_copy(update={"lexical": LexicalSettings(enabled=True, **lexical)})  # type: ignore[arg-type]


def test_default_is_the_transformers_own_windows(prepared: tuple[TrainConfig, PreparedData, Path]) -> None:
    cfg, data, _ = prepared
    assert head_windows(_with(cfg), data) == (data.train, 0)


def test_every_window_of_every_training_conversation(prepared: tuple[TrainConfig, PreparedData, Path]) -> None:
    cfg, data, _ = prepared
    convs = list(iter_jsonl(cfg.data.train))
    ws, n_extra = head_windows(_with(cfg, windows_per_conversation=0), data)
    assert n_extra == 0
    assert len(ws) == sum(len(c.messages) for c in convs) > len(data.train)
    # a grooming conversation's windows are positive from its first risky message on
    assert sum(ws.labels) == sum(len(c.messages) - c.first_risk_index for c in convs if c.label == 1)


def test_extra_benign_adds_every_window_then_a_seeded_sample(prepared: tuple[TrainConfig, PreparedData, Path]) -> None:
    cfg, data, root = prepared
    extra = root / "extra.jsonl"
    write_jsonl(extra, [_chat("long-1", 30), _chat("long-2", 45, label=None)])
    ws, n_extra = head_windows(_with(cfg, extra_benign=extra, extra_benign_windows=10_000), data)
    assert n_extra == 30 + 45 and len(ws) == len(data.train) + 30 + 45
    assert ws.labels[len(data.train):] == [0] * 75 and ws.input_ids[: len(data.train)] == data.train.input_ids
    small, n_small = head_windows(_with(cfg, extra_benign=extra, extra_benign_windows=7), data)
    again, _ = head_windows(_with(cfg, extra_benign=extra, extra_benign_windows=7), data)
    assert n_small == 7 and len(small) == len(data.train) + 7 and small.input_ids == again.input_ids  # seeded
    every = {tuple(w) for w in ws.input_ids[len(data.train):]}
    assert {tuple(w) for w in small.input_ids[len(data.train):]} <= every


@pytest.mark.parametrize(("bad", "message"), [
    ("grooming", "is labelled grooming"),
    ("validation", "is in the validation split"),
    ("real-test", "held-out real-test"),
])
def test_extra_benign_refuses_what_the_head_must_not_see(prepared: tuple[TrainConfig, PreparedData, Path],
                                                         bad: str, message: str) -> None:
    cfg, data, root = prepared
    benign_val = next(c for c in data.val_conversations if c.label == 0)
    chat = {"grooming": _chat("g-1", 12, label=1), "validation": benign_val, "real-test": _chat(REAL_TEST_ID, 12)}[bad]
    extra = root / f"extra-{bad}.jsonl"
    write_jsonl(extra, [_chat("fine-1", 12), chat])
    with pytest.raises(DataError, match=message):
        head_windows(_with(cfg, extra_benign=extra), data)
