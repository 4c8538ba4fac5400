"""Request limits (`limits.*` in the serve config), the one place they are checked.

Appends are checked by the append path itself (`Appends.append`, before any store or model work),
so every caller - the HTTP route, tests, benchmarks - meets the same rules. `/v1/score`
calls `check_conversations` before scoring, since scoring alone never reaches the review service.
A refusal is `LimitExceeded`: it names the field and the setting, never the value (privacy rule);
the API renders it as 422 problem+json (serving/api/errors.py). Body size (bytes) is checked
earlier, before JSON parsing (serving/api/body_size.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from groomguard.schema import Conversation, Message
from groomguard.serving.review.errors import LimitExceeded
from groomguard.serving.settings import LimitsConfig

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
UNSAFE_MSG = "contains a NUL character or a lone surrogate"


def has_unsafe_chars(value: str) -> bool:
    """True when `value` holds a NUL or an unpaired surrogate (after JSON decoding)."""
    return _UNSAFE.search(value) is not None


def check_id(field: str, value: str, limits: LimitsConfig) -> None:
    """Ids are 1 to `max_id_chars` characters (never more than their 255-character columns),
    without NUL or lone surrogates (a path id has no pydantic type to refuse them)."""
    if not value or len(value) > limits.max_id_chars:
        raise LimitExceeded(field, f"must be 1 to {limits.max_id_chars} characters (limits.max_id_chars)")
    if has_unsafe_chars(value):
        raise LimitExceeded(field, UNSAFE_MSG)


def check_messages(messages: Sequence[Message], limits: LimitsConfig, prefix: str) -> None:
    """Per-message text length and ids; the error names the field and the setting, not the text."""
    for i, m in enumerate(messages):
        if len(m.text) > limits.max_chars_per_message:
            raise LimitExceeded(f"{prefix}{i}.text", f"longer than {limits.max_chars_per_message} characters "
                                                     "(limits.max_chars_per_message)")
        check_id(f"{prefix}{i}.author", m.author, limits)
        if m.message_id is not None:
            check_id(f"{prefix}{i}.message_id", m.message_id, limits)


def check_append(conversation_id: str, messages: Sequence[Message], limits: LimitsConfig) -> None:
    """One append: the conversation id, 1 to `max_messages_per_append` messages, each message."""
    check_id("conversation_id", conversation_id, limits)
    most = limits.max_messages_per_append
    if not 1 <= len(messages) <= most:
        raise LimitExceeded("messages", f"an append takes 1 to {most} messages, got {len(messages)} "
                                        "(limits.max_messages_per_append)")
    check_messages(messages, limits, "messages.")


def check_conversations(convs: Sequence[Conversation], limits: LimitsConfig) -> None:
    """One `/v1/score` request: conversation count, windows to score, then each conversation."""
    if len(convs) > limits.max_conversations_per_request:
        raise LimitExceeded("conversations", f"at most {limits.max_conversations_per_request} conversations per "
                                             "request (limits.max_conversations_per_request)")
    windows = sum(len(c.messages) for c in convs)  # /v1/score scores one window per message
    if windows > limits.max_windows_per_request:
        raise LimitExceeded("conversations", f"{windows} messages to score; at most {limits.max_windows_per_request} "
                                             "per request (limits.max_windows_per_request): split the request")
    for i, conv in enumerate(convs):
        check_id(f"conversations.{i}.conversation_id", conv.conversation_id, limits)
        most = limits.max_messages_per_conversation
        if len(conv.messages) > most:
            raise LimitExceeded(f"conversations.{i}.messages", f"at most {most} messages per request "
                                                               "(limits.max_messages_per_conversation)")
        check_messages(conv.messages, limits, f"conversations.{i}.messages.")
