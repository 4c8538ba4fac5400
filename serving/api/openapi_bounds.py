"""Put the configured request bounds into the OpenAPI schema, so clients and contract tests see
the limits the service really enforces.

The bounds come from `limits:` in serve.yaml, so pydantic cannot derive them from the models;
they are checked in one place (serving/review/request_limits.py) and this module writes the same
numbers into the schema: id lengths, text length, message and conversation counts, paging maxima,
and the NUL-free pattern of every client string (lone surrogates cannot be produced by a JSON
Schema generator, and are refused all the same). What JSON Schema cannot say is in docs/api.md:
`first_risk_index` inside the conversation, at most `limits.max_windows_per_request` messages in one
`/v1/score`, unique conversation ids when `route` is true, timestamps representable in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from groomguard.serving.settings import LimitsConfig

NO_NUL = "^[^\\u0000]*$"  # ECMA-262 and Python read the escape alike


def _string(node: dict[str, Any], **bounds: Any) -> None:
    """Apply bounds to a string schema, or to the string branch of `anyOf: [string, null]`."""
    for branch in node.get("anyOf", [node]):
        if branch.get("type") == "string":
            branch.update(bounds)


def _items(node: dict[str, Any], **bounds: Any) -> None:
    """Bounds on each item of an array of strings."""
    _string(node["items"], **bounds)


def bounded_schema(app: FastAPI, limits: LimitsConfig) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                         description=app.description, routes=app.routes)
    ids = {"minLength": 1, "maxLength": limits.max_id_chars, "pattern": NO_NUL}
    free = {"pattern": NO_NUL}
    comp = schema["components"]["schemas"]
    msg = comp["ApiMessage"]["properties"]
    _string(msg["author"], **ids)
    _string(msg["message_id"], **ids)
    _string(msg["text"], maxLength=limits.max_chars_per_message, pattern=NO_NUL)
    conv = comp["ApiConversation"]["properties"]
    _string(conv["conversation_id"], **ids)
    conv["messages"]["maxItems"] = limits.max_messages_per_conversation
    for name in ("source", "lang"):
        _string(conv[name], **free)
    for name in ("predator_ids", "tags"):
        _items(conv[name], **free)
    comp["ScoreRequest"]["properties"]["conversations"]["maxItems"] = limits.max_conversations_per_request
    comp["AppendRequest"]["properties"]["messages"]["maxItems"] = limits.max_messages_per_append
    _string(comp["DecisionRequest"]["properties"]["note"], **free)
    paging = {"limit": limits.max_page_size, "offset": limits.max_offset}
    for path, item in schema["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                if path in ("/v1/cases", "/v1/accounts") and param.get("name") in paging:
                    param["schema"]["maximum"] = paging[param["name"]]
                elif param.get("name") in ("conversation_id", "author"):
                    _string(param["schema"], **ids)
                elif param.get("name") == "case_id":
                    _string(param["schema"], **free)
    return schema


def install(app: FastAPI, limits: LimitsConfig) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = bounded_schema(app, limits)
        return app.openapi_schema

    generate: Callable[[], dict[str, Any]] = openapi
    app.openapi = generate  # type: ignore[method-assign]
