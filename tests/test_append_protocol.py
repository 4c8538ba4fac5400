"""One append protocol (serving/review/appends.py): the sync form runs the served coroutine inline,
and request limits are refused by the append path itself, naming the field, never the text.

All chat text here is synthetic and benign; the trigger word "secret" stands for a secrecy request.
"""

from __future__ import annotations

import asyncio

import pytest

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import AppendOutcome, LimitExceeded, ReviewService
from groomguard.serving.review.appends import run_inline
from groomguard.serving.settings import LimitsConfig
from groomguard.serving.store import RetentionConfig, StateConfig, Store
from groomguard.windowing import Windower
from tests.support.store import KeywordScorer

pytest_plugins = ["tests.support.store_fixtures"]


def service(store: Store, windower: Windower, limits: LimitsConfig | None = None) -> ReviewService:
    return ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                               StateConfig(tail_messages=8), RetentionConfig(), limits)


def shape(o: AppendOutcome) -> tuple[object, ...]:
    """An outcome without the ids that differ between two conversations."""
    return o.risk, o.max_risk, o.level, o.case_id is not None, o.case_opened, o.accepted, o.duplicates


def batches(prefix: str) -> list[list[Message]]:
    texts = ["hi there", "how was school", "keep this secret", "ok", "see you", "bye"]
    msgs = [Message(author=f"user_{i % 2}", text=t, message_id=f"{prefix}-{i}") for i, t in enumerate(texts)]
    return [msgs[:2], msgs[2:3], msgs[1:4], msgs[4:], msgs[4:]]  # with retries and partial duplicates


def test_sync_and_served_forms_answer_alike(store: Store, windower: Windower) -> None:
    """The same batches through the sync form and through the coroutine the server awaits (worker
    threads, scorer in a thread: no async scorer here) give the same outcomes."""
    svc = service(store, windower)
    sync = [svc.append_messages("c-sync", b) for b in batches("s")]

    async def served() -> list[AppendOutcome]:
        return [await svc.appends.append("c-served", b) for b in batches("a")]

    awaited = asyncio.run(served())
    assert [shape(o) for o in sync] == [shape(o) for o in awaited]
    assert [o.accepted for o in sync] == [2, 1, 1, 2, 0] and sync[1].case_opened


def test_run_inline_refuses_a_coroutine_that_suspends() -> None:
    async def done() -> int:
        return 7

    async def suspends() -> int:
        await asyncio.sleep(0)
        return 7

    assert run_inline(done()) == 7
    with pytest.raises(RuntimeError, match="suspended"):
        run_inline(suspends())


@pytest.mark.parametrize("form", ["sync", "served"])
def test_limits_are_refused_by_the_append_path(store: Store, windower: Windower, form: str) -> None:
    svc = service(store, windower, LimitsConfig(max_chars_per_message=20, max_messages_per_append=2))
    secret = "keep this secret, it is ours"

    def append(messages: list[Message]) -> object:
        if form == "sync":
            return svc.append_messages("c-lim", messages)
        return asyncio.run(svc.appends.append("c-lim", messages))

    with pytest.raises(LimitExceeded) as too_long:
        append([Message(author="user_a", text=secret)])
    assert too_long.value.field == "messages.0.text" and "limits.max_chars_per_message" in str(too_long.value)
    assert secret not in str(too_long.value)
    with pytest.raises(LimitExceeded, match="max_messages_per_append") as too_many:
        append([Message(author="user_a", text="hi")] * 3)
    assert too_many.value.field == "messages"
    with pytest.raises(LimitExceeded) as nul:
        append([Message(author="user_a", text="hi", message_id="m\x00")])
    assert nul.value.field == "messages.0.message_id"
    assert svc.list_cases(None, None, 10, 0).total == 0
