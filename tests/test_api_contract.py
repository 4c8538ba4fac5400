"""Contract tests: schemathesis against the live app (real ONNX Runtime on the tiny bundle, real
SQLite, a real admin key), every operation in the OpenAPI, all checks, valid and invalid inputs.
Done when: no server error and no response that contradicts the schema (status, content type,
headers, body), no request the schema allows refused and none it forbids accepted.

Bounded and deterministic (derandomized, no example database) so it runs in `make test`."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode

from benchmarks.support.server import make_config, make_keys
from groomguard.serving.api.app import create_app

EXAMPLES = 25  # per operation and mode: ~450 requests in all


def _cases() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every documented operation, from an app built but not started;
    invalid inputs only where an operation takes any."""
    app = create_app(make_config(Path("unused.db")), Path("unused-bundle"))
    out = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            out.append((method.upper(), path, GenerationMode.POSITIVE))
            if op.get("parameters") or op.get("requestBody"):
                out.append((method.upper(), path, GenerationMode.NEGATIVE))
    return out


def _utc_ok(ts: object) -> bool:
    try:
        value = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return False
    return True


def within_documented_rules(body: object, max_windows: int) -> object:
    """A schema-valid body made to follow the rules JSON Schema cannot state (docs/api.md): a
    `first_risk_index` past the last message or a timestamp beyond year 9999 in UTC is dropped
    (both fields are optional), and bodies over the per-request window limit or with a repeated
    conversation id under `route: true` are not sent (`assume`)."""
    if not isinstance(body, dict):
        return body
    convs = body.get("conversations")
    messages_lists = [c["messages"] for c in convs] if isinstance(convs, list) else [body.get("messages", [])]
    for conv in convs if isinstance(convs, list) else []:
        fri = conv.get("first_risk_index")
        if fri is not None and fri >= len(conv["messages"]):
            conv["first_risk_index"] = None
    for messages in messages_lists:
        for m in messages:
            if m.get("timestamp") is not None and not _utc_ok(m["timestamp"]):
                m["timestamp"] = None
    if isinstance(convs, list):
        assume(sum(len(c["messages"]) for c in convs) <= max_windows)
        if body.get("route"):
            assume(len({c["conversation_id"] for c in convs}) == len(convs))
    return body


@pytest.fixture(scope="module")
def live(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    """Schemathesis runs the app's lifespan itself (and ends it after each test): one database for
    the module, services opened afresh per test."""
    cfg = make_config(tmp_path_factory.mktemp("contract") / "gg.db")
    keys = make_keys(cfg)
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(cfg, tiny_bundle_dir)), keys["admin"]


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_operation_honours_its_contract(live: tuple[Any, str], method: str, path: str, mode: GenerationMode) -> None:
    schema, key = live
    operation = schema[path][method]
    max_windows = make_config(Path("unused.db")).limits.max_windows_per_request

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        if mode == GenerationMode.POSITIVE:
            case.body = within_documented_rules(case.body, max_windows)
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"})

    run()
