"""Helpers for the store/review tests (importable; the fixtures live in tests/support/store_fixtures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from groomguard.normalise import NormalisationConfig
from groomguard.serving.store import StoreConfig, open_store
from groomguard.windowing import WindowConfig, Windower

RISKY_WORD = "secret"  # synthetic test trigger: a window mentioning secrecy scores high


def make_windower(tokenizer_path: str | Path, max_length: int = 64) -> Windower:
    tok = Tokenizer.from_file(str(tokenizer_path))
    return Windower(tok, WindowConfig(max_length=max_length, normalisation=NormalisationConfig()))


def tokenizer_path() -> Path:
    from benchmarks.support.tiny_bundle import minilm_dir

    return minilm_dir() / "tokenizer.json"


class KeywordScorer:
    """Deterministic WindowScorer: 0.9 when the window contains the trigger token, else 0.1.

    A plain function of the token ids, so storage logic is tested without model noise; it also
    counts calls so tests can check what was scored.
    """

    def __init__(self, windower: Windower, word: str = RISKY_WORD, high: float = 0.9, low: float = 0.1) -> None:
        ids = windower.tokenizer.encode(word, add_special_tokens=False).ids
        assert len(ids) == 1, "trigger must be a single token"
        self.token = ids[0]
        self.high, self.low = high, low
        self.calls: list[int] = []

    def __call__(self, windows: list[list[int]]) -> list[float]:
        self.calls.append(len(windows))
        return [self.high if self.token in w else self.low for w in windows]


def constant_scorer(windows: list[list[int]]) -> list[float]:
    """Every window is risky: every append wants to open a case (worst case for 'one case')."""
    return [0.9 for _ in windows]


def process_appender(url: str, conversation_id: str, worker: int, n: int, tail: int) -> int:
    """Entry point of a replica process in the concurrency tests: appends `n` distinct messages."""
    from groomguard.schema import Message
    from groomguard.scores import Thresholds
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import RetentionConfig, StateConfig

    st = open_store(StoreConfig(url=url))
    svc = ReviewService.build(st, constant_scorer, make_windower(tokenizer_path()), Thresholds(review=0.5, high=0.8),
                              "test@1", StateConfig(tail_messages=tail), RetentionConfig())
    for i in range(n):
        svc.append_messages(conversation_id, [Message(author=f"user{worker}", text=f"synthetic hello {i}",
                                                      message_id=f"p{worker}-{i}")])
    st.close()
    return n


def process_account_appender(url: str, k: int, n: int) -> int:
    """A replica process in the accounts concurrency test: `adult_x` and `kid_<k % 3>` take turns in
    conversation `pc<k>`; in even conversations adult_x's fourth message is risky (KeywordScorer)."""
    from groomguard.schema import Message
    from groomguard.scores import Thresholds
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig

    st = open_store(StoreConfig(url=url))
    w = make_windower(tokenizer_path())
    svc = ReviewService.build(st, KeywordScorer(w), w, Thresholds(review=0.5, high=0.8), "test@1",
                              StateConfig(tail_messages=1000), RetentionConfig(),
                              accounts=AccountsConfig(rule_conversations=2))
    for i in range(n):
        text = f"keep this {RISKY_WORD}" if i == 3 and k % 2 == 0 else "see you at practice"
        svc.append_messages(f"pc{k}", [Message(author="adult_x", text=text, message_id=f"x{i}")])
        svc.append_messages(f"pc{k}", [Message(author=f"kid_{k % 3}", text="see you at practice",
                                               message_id=f"k{i}")])
    st.close()
    return n


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    """Run `groomguard ARGS` in-process (the real entry point, minus interpreter start-up)."""
    from groomguard.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
