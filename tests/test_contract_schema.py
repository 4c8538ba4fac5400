"""Pins groomguard/schema.py: what a canonical conversation accepts and rejects."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from groomguard.schema import Conversation, Message


def make(**kw: object) -> Conversation:
    data: dict[str, object] = {"conversation_id": "c", "messages": [{"author": "u1", "text": "hi"},
                                                                 {"author": "u2", "text": ""}]}
    data.update(kw)
    return Conversation.model_validate(data)


def test_minimal_and_defaults() -> None:
    c = make()
    assert (c.label, c.first_risk_index, c.source, c.lang) == (None, None, None, None)
    assert c.predator_ids == [] and c.tags == [] and c.messages[1].text == ""


def test_authors_in_order_of_first_appearance() -> None:
    c = make(messages=[{"author": a, "text": "x"} for a in ("b", "a", "b", "c", "a")])
    assert c.authors == ["b", "a", "c"]


def test_timestamp_parsed() -> None:
    c = make(messages=[{"author": "u", "text": "x", "timestamp": "2025-03-01T18:02:11Z", "message_id": "m-1"}])
    assert c.messages[0].timestamp is not None and c.messages[0].timestamp.year == 2025


@pytest.mark.parametrize(("kw", "loc"), [
    ({"messages": []}, "messages"),
    ({"conversation_id": ""}, "conversation_id"),
    ({"label": 2}, "label"),
    ({"first_risk_index": -1}, "first_risk_index"),
    ({"txt": "typo"}, "txt"),  # unknown fields are errors, not silently dropped
    ({"messages": [{"author": "u", "txt": "typo"}]}, "messages.0"),
    ({"messages": [{"author": "", "text": "x"}]}, "messages.0.author"),
])
def test_rejects(kw: dict[str, object], loc: str) -> None:
    with pytest.raises(ValidationError) as exc:
        make(**kw)
    assert any(".".join(map(str, e["loc"])).startswith(loc) for e in exc.value.errors())


def test_first_risk_index_must_be_inside_conversation() -> None:
    assert make(first_risk_index=1).first_risk_index == 1
    with pytest.raises(ValidationError, match="first_risk_index 2 is past the last message"):
        make(first_risk_index=2)


def test_message_model_is_strict_about_fields() -> None:
    with pytest.raises(ValidationError):
        Message.model_validate({"author": "u", "text": "x", "extra": 1})
