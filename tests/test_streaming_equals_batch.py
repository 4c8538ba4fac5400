"""Streaming equals batch: a conversation appended message by message through the HTTP API gets,
after each message, exactly the risk `/v1/score` gives that message when scoring it whole, also
long after the oldest messages have left the stored tail. And the start-up rule that makes it true:
`state.tail_messages` must hold a full window (serving/tail_check.py), checked by hand here.

What it catches: a tail shorter than a window, roles re-assigned from the tail instead of the
stored role map, a window built from the wrong end of the tail, batch and streaming windowing
drifting apart. The bundle's model gives clearly different risks per window, so a wrong window shows.
All chat text is synthetic and benign.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.bundle import Bundle
from groomguard.errors import ConfigError
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
from groomguard.serving.tail_check import max_messages_per_window
from tests.support.store import run_cli

# A 64-token BERT window: [CLS] + [SEP] leave 62 tokens; the newest message costs >= 1, every older
# one >= 1 + 1 ([SEP]): 1 + (62 - 1) // 2 = 31 messages at most. Worked out by hand, not by the code.
TINY_WINDOW_MESSAGES = 31

TEXTS = ["", "ok", "sure", "", "see you at the library after class", "yes", "", "bring the charger",
         "what time is the match on saturday", "", "ok", "the bus was late again"]


def long_conversation(n: int) -> list[dict[str, Any]]:
    """`n` messages from three authors, many empty or one-word so a window spans many messages."""
    return [msg(("kid_a", "kid_b", "coach_c")[i % 3 if i % 5 else 0], TEXTS[i % len(TEXTS)], f"m-{i}")
            for i in range(n)]


def test_tail_rule_matches_the_hand_computed_bound(sharp_bundle_dir: Path) -> None:
    assert max_messages_per_window(Bundle.load(sharp_bundle_dir).windower()) == TINY_WINDOW_MESSAGES


@pytest.mark.parametrize("n_messages", [70])
def test_appending_one_by_one_equals_scoring_whole(sharp_bundle_dir: Path, tmp_path: Path, n_messages: int) -> None:
    cfg = make_config(tmp_path / "gg.db", f"state.tail_messages={TINY_WINDOW_MESSAGES}",
                      "thresholds={review: 1.0, high: 1.0}")
    keys = make_keys(cfg)
    messages = long_conversation(n_messages)
    assert n_messages > 2 * TINY_WINDOW_MESSAGES  # well past the stored tail
    with running_app(cfg, sharp_bundle_dir) as client:
        streamed, max_risks = [], []
        for m in messages:
            r = client.post("/v1/conversations/stream-1/messages", json={"messages": [m]},
                            headers=auth(keys["score"]))
            assert r.status_code == 200, r.text
            streamed.append(r.json()["risk"])
            max_risks.append(r.json()["max_risk"])
        r = client.post("/v1/score", json={"conversations": [{"conversation_id": "whole", "messages": messages}]},
                        headers=auth(keys["score"]))
        assert r.status_code == 200, r.text
        batch = r.json()["results"][0]["risk_by_message"]
    assert max(batch) - min(batch) > 0.05, "risks must vary by window or this test cannot see a wrong window"
    assert streamed == pytest.approx(batch, abs=1e-5)
    assert max_risks == pytest.approx([max(batch[: i + 1]) for i in range(n_messages)], abs=1e-5)


def test_the_rule_is_needed_a_shorter_tail_changes_risks(sharp_bundle_dir: Path, tmp_path: Path) -> None:
    """Why the start-up check exists: bypassing it with a short tail makes streaming disagree."""
    engine = build_engine(str(sharp_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'short.db'}"))
    try:
        svc = ReviewService.build(store, lambda w: engine.score_windows(w).tolist(), engine.windower,
                                  Thresholds(review=1.0, high=1.0), engine.model_ref, StateConfig(tail_messages=4),
                                  RetentionConfig())
        messages = [Message.model_validate(m) for m in long_conversation(30)]
        streamed = [svc.append_messages("short", [m]).risk for m in messages]
        batch = engine.score_conversations([Conversation(conversation_id="w", messages=messages)])[0]
    finally:
        store.close()
        engine.close()
    assert max(abs(a - b) for a, b in zip(streamed, batch.risk_by_message, strict=True)) > 1e-3


def test_start_up_refuses_a_tail_shorter_than_a_window(sharp_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", f"state.tail_messages={TINY_WINDOW_MESSAGES - 1}")
    with pytest.raises(ConfigError, match=f"state.tail_messages >= {TINY_WINDOW_MESSAGES}"), \
            running_app(cfg, sharp_bundle_dir):
        pass


def test_serve_cli_refuses_a_short_tail_with_exit_2(sharp_bundle_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "serve", "--bundle", str(sharp_bundle_dir), "--store-url",
                           f"sqlite:///{tmp_path / 'x.db'}", "--set", "state.tail_messages=3")
    assert code == 2 and err.startswith("error:") and "state.tail_messages >= 31" in err, err
    assert len(err.strip().splitlines()) == 1


# Synthetic and benign at both ends; the middle carries tactics (age question, flattery, secrecy, a
# private app, a gift), nothing explicit. On the sharp bundle the highest window risk (0.88, message
# 14) is far from the last message's (0.47), so an append that scored only its newest window would
# miss it: that is what these tests pin.
BATCHED = ["hey", "hi, good game earlier", "thanks, you too", "what level are you on",
           "level 12, the lava one is hard", "you play really well for your age, how old are you", "13",
           "you seem way more mature than 13", "dont tell your parents we talk ok", "keep it our secret",
           "add me on snap, its more private", "are your parents home after school", "i can send you a gift card",
           "ok", "anyway the next map is out friday", "cool", "the boss fight has a new phase",
           "yeah i saw the trailer", "see you online", "bye"]


def batched_thread() -> list[dict[str, Any]]:
    return [msg("older_p" if i % 2 == 0 or 7 <= i <= 12 else "kid_q", t, f"b-{i}") for i, t in enumerate(BATCHED)]


def test_a_batched_append_scores_every_message(sharp_bundle_dir: Path, tmp_path: Path) -> None:
    """20 messages in one append = `groomguard score` on them: every message's window counts for the
    running max, the stored per-message risks, the case and the replayed answer; and 20 appends of
    one message give the same. Reverting to newest-only scoring fails the first assertion below."""
    messages = batched_thread()
    engine = build_engine(str(sharp_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        conv = Conversation(conversation_id="w", messages=[Message.model_validate(m) for m in messages])
        batch = engine.score_conversations([conv])[0].risk_by_message
    finally:
        engine.close()
    peak = max(batch)
    assert peak > batch[-1] + 0.2 and 0 < batch.index(peak) < len(batch) - 3, "the peak must sit mid-way"
    review = (peak + batch[-1]) / 2  # only a window before the newest reaches it
    cfg = make_config(tmp_path / "gg.db", f"state.tail_messages={TINY_WINDOW_MESSAGES}",
                      f"thresholds={{review: {review}, high: 1.0}}")
    keys = make_keys(cfg)
    with running_app(cfg, sharp_bundle_dir) as client:
        one = client.post("/v1/conversations/batched/messages", json={"messages": messages},
                          headers=auth(keys["score"]))
        assert one.status_code == 200, one.text
        got = one.json()
        assert got["max_risk"] == pytest.approx(peak, abs=1e-5)
        assert got["risk"] == pytest.approx(batch[-1], abs=1e-5)
        assert got["level"] == "review" and got["case_opened"] and got["accepted"] == 20
        case = client.get(f"/v1/cases/{got['case_id']}", headers=auth(keys["review"])).json()
        assert [m["risk"] for m in case["messages"]] == pytest.approx(batch, abs=1e-5)
        assert case["max_risk"] == pytest.approx(peak, abs=1e-5)
        assert [p["risk"] for p in case["score_history"]] == pytest.approx(batch, abs=1e-5)
        retry = client.post("/v1/conversations/batched/messages", json={"messages": messages},
                            headers=auth(keys["score"])).json()
        assert (retry["accepted"], retry["duplicates"], retry["case_opened"]) == (0, 20, False)
        assert retry["max_risk"] == got["max_risk"] and retry["risk"] == got["risk"]
        singles = [client.post("/v1/conversations/singles/messages", json={"messages": [m]},
                               headers=auth(keys["score"])).json() for m in messages]
    assert [s["risk"] for s in singles] == pytest.approx(batch, abs=1e-5)
    assert singles[-1]["max_risk"] == pytest.approx(got["max_risk"], abs=1e-6)


def test_a_batched_append_makes_one_scorer_call(sharp_bundle_dir: Path, tmp_path: Path) -> None:
    """k new messages are k windows in ONE batched call (the micro-batcher sees one request), and a
    message already stored is not scored again."""
    engine = build_engine(str(sharp_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'calls.db'}"))
    calls: list[int] = []

    def scorer(windows: list[list[int]]) -> list[float]:
        calls.append(len(windows))
        return engine.score_windows(windows).tolist()

    try:
        svc = ReviewService.build(store, scorer, engine.windower, Thresholds(review=1.0, high=1.0), engine.model_ref,
                                  StateConfig(tail_messages=TINY_WINDOW_MESSAGES), RetentionConfig())
        messages = [Message.model_validate(m) for m in batched_thread()]
        svc.append_messages("calls", messages[:12])
        svc.append_messages("calls", messages[8:])  # 4 duplicates, 8 new
    finally:
        store.close()
        engine.close()
    assert calls == [12, 8]
