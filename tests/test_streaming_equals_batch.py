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

from groomguard.bundle import Bundle
from groomguard.errors import ConfigError
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
from groomguard.serving.tail_check import max_messages_per_window
from tests.store_helpers import run_cli
from tests.test_api_support import auth, make_config, make_keys, msg, running_app

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
        svc = ReviewService(store, lambda w: engine.score_windows(w).tolist(), engine.windower,
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
