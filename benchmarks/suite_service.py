"""Append cost by conversation length through the review service itself (no HTTP), with the share of
each append spent normalising + tokenising + assembling the window.

Same store kind as the HTTP measurements (SQLite in a temporary directory), the engine called
directly as the scorer (batch 1). The conversation is grown to N - samples with 100-message appends,
then `samples` single appends are timed around message N; a `Windower` subclass adds up the time
spent in `encode_messages` + `assemble_newest` during those appends.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.suite_engine import Ctx, engine_for
from groomguard.bundle import Bundle
from groomguard.schema import Conversation, Message
from groomguard.windowing import Windower


class TimedWindower(Windower):
    """The bundle's windower, adding up seconds spent rendering/tokenising/assembling."""

    seconds = 0.0

    def encode_messages(self, messages: Sequence[Message], roles: Mapping[str, str] | None = None) -> list[list[int]]:
        t0 = time.perf_counter()
        try:
            return super().encode_messages(messages, roles)
        finally:
            self.seconds += time.perf_counter() - t0

    def assemble_newest(self, message_ids: Sequence[Sequence[int]]) -> list[int]:
        t0 = time.perf_counter()
        try:
            return super().assemble_newest(message_ids)
        finally:
            self.seconds += time.perf_counter() - t0


def _message(conv: Conversation, i: int) -> Message:
    m = conv.messages[i % len(conv.messages)]
    return Message(author=m.author, text=m.text, message_id=f"m{i}")


def service_append_latency(ctx: Ctx, bundle: Bundle, variant: str, conv: Conversation,
                           marks: tuple[int, ...] = (10, 100, 1000), samples: int = 5) -> dict[str, Any]:
    """{mark: {median_ms, tokenise_ms, tokenise_share}} for single-message appends at message ~mark."""
    from groomguard.scores import Thresholds
    from groomguard.serving.review import ReviewService
    from groomguard.serving.settings import load_serve_config
    from groomguard.serving.store import open_store

    base = bundle.windower()
    windower = TimedWindower(base.tokenizer, base.config)
    engine = engine_for(ctx, variant, 1)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_serve_config(None, [f"store.url=sqlite:///{tmp}/bench.db", "state.tail_messages=128",
                                       "limits.max_messages_per_append=100"])
        store = open_store(cfg.store)
        # review threshold above 1: no case is opened, so every append is the plain hot path
        svc = ReviewService.build(store, lambda ws: [float(r) for r in engine.infer_batch(ws)], windower,
                                  Thresholds(review=1.0, high=1.0), engine.model_ref, cfg.state, cfg.retention,
                                  cfg.limits)
        try:
            svc.append_messages("warm", [_message(conv, 0)])
            have = 0
            for mark in marks:
                while have < mark - samples:
                    n = min(100, mark - samples - have)
                    svc.append_messages("latency", [_message(conv, have + k) for k in range(n)])
                    have += n
                times, tok = [], []
                for _ in range(samples):
                    windower.seconds = 0.0
                    t0 = time.perf_counter()
                    svc.append_messages("latency", [_message(conv, have)])
                    times.append(time.perf_counter() - t0)
                    tok.append(windower.seconds)
                    have += 1
                med = statistics.median(times)
                out[str(mark)] = {"median_ms": 1000 * med, "tokenise_ms": 1000 * statistics.median(tok),
                                  "tokenise_share": statistics.median(tok) / med}
        finally:
            store.close()
            engine.close()
    return out
