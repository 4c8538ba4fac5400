"""Request limits.

Body size is enforced on the raw bytes before any JSON parsing (an ASGI middleware checking
Content-Length up front and counting streamed chunks while it buffers them), so an oversize body costs neither memory
nor parse time: 413. Counts and lengths inside a valid body are checked per field: 422 naming the
field (`messages.3.text`), never quoting it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groomguard.schema import Conversation
from groomguard.schema import Message as ChatMessage
from groomguard.serving.api.errors import PROBLEM_JSON, TITLES, field_error
from groomguard.serving.api.strict import UNSAFE_MSG, has_unsafe_chars
from groomguard.serving.settings import LimitsConfig


class BodySizeLimit:
    """Pure ASGI middleware: 413 problem+json for bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._reject(send, 400, "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await self._reject(send, 413, self._detail())
                    return
        # Read the body here (the app would buffer it anyway), stopping as soon as it is too big.
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._reject(send, 413, self._detail())
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)

    def _detail(self) -> str:
        return f"body: request body exceeds limits.max_body_bytes ({self.max_bytes} bytes)"

    @staticmethod
    async def _reject(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"type": "about:blank", "title": TITLES[status], "status": status, "detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def check_id(field: str, value: str, limits: LimitsConfig) -> None:
    """Ids (path or body) are 1-`max_id_chars` characters without NUL or lone surrogates."""
    if not value or len(value) > limits.max_id_chars:
        raise field_error(field, f"must be 1-{limits.max_id_chars} characters (limits.max_id_chars)")
    if has_unsafe_chars(value):
        raise field_error(field, UNSAFE_MSG)


def check_messages(messages: Sequence[ChatMessage], limits: LimitsConfig, prefix: str, max_count: int,
                   count_setting: str) -> None:
    """Count and per-message text length; the error names the field and the setting, not the text."""
    if len(messages) > max_count:
        raise field_error(prefix.rstrip("."), f"at most {max_count} messages per request (limits.{count_setting})")
    for i, m in enumerate(messages):
        if len(m.text) > limits.max_chars_per_message:
            raise field_error(f"{prefix}{i}.text",
                              f"longer than {limits.max_chars_per_message} characters (limits.max_chars_per_message)")
        check_id(f"{prefix}{i}.author", m.author, limits)
        if m.message_id is not None:
            check_id(f"{prefix}{i}.message_id", m.message_id, limits)


def check_conversations(convs: Sequence[Conversation], limits: LimitsConfig) -> None:
    if len(convs) > limits.max_conversations_per_request:
        raise field_error("conversations", f"at most {limits.max_conversations_per_request} conversations per "
                                           "request (limits.max_conversations_per_request)")
    windows = sum(len(c.messages) for c in convs)  # /v1/score scores one window per message
    if windows > limits.max_windows_per_request:
        raise field_error("conversations", f"{windows} messages to score; at most {limits.max_windows_per_request} "
                                           "per request (limits.max_windows_per_request): split the request")
    for i, conv in enumerate(convs):
        check_id(f"conversations.{i}.conversation_id", conv.conversation_id, limits)
        check_messages(conv.messages, limits, f"conversations.{i}.messages.", limits.max_messages_per_conversation,
                       "max_messages_per_conversation")
