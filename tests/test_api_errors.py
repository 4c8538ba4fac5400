"""Bad input gets the right 4xx problem+json naming the field, never a 500, never the input echoed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app

SECRET = "zq-distinctive-text-7731"


@pytest.fixture(scope="module")
def env(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    cfg = make_config(tmp_path_factory.mktemp("err") / "gg.db", "limits.max_body_bytes=20000",
                      "limits.max_chars_per_message=200", "limits.max_messages_per_append=5",
                      "limits.max_conversations_per_request=3", "limits.max_messages_per_conversation=10")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        yield client, keys


def problem_of(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert SECRET not in r.text
    return dict(body)


APPEND = "/v1/conversations/c-err/messages"


def test_malformed_json(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    r = client.post(APPEND, content=b'{"messages": [',
                    headers={**auth(keys["score"]), "content-type": "application/json"})
    assert "JSON" in problem_of(r, 400)["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"messages": [{"author": "a", "text": 5}]}, "messages.0.text"),
    ({"messages": [{"author": "a"}]}, "messages.0.text"),
    ({"messages": [{"author": "", "text": SECRET}]}, "messages.0.author"),
    ({"messages": [{"author": "a", "text": SECRET, "txt": "typo"}]}, "messages.0.txt"),
    ({"messages": [{"author": "a", "text": SECRET, "timestamp": SECRET}]}, "messages.0.timestamp"),
    ({"messages": []}, "messages"),
    ({"messages": "not a list"}, "messages"),
    ([1, 2, 3], "body"),
])
def test_wrong_types_name_the_field(env: tuple[TestClient, dict[str, str]], body: Any, field: str) -> None:
    client, keys = env
    p = problem_of(client.post(APPEND, json=body, headers=auth(keys["score"])), 422)
    assert p["detail"].startswith(field), p
    assert p["errors"] and all("input" not in e and "ctx" not in e for e in p["errors"])


def test_limits(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    h = auth(keys["score"])
    p = problem_of(client.post(APPEND, json={"messages": [msg("a", SECRET + "x" * 300)]}, headers=h), 422)
    assert p["detail"].startswith("messages.0.text") and "max_chars_per_message" in p["detail"]
    p = problem_of(client.post(APPEND, json={"messages": [msg("a", "hi")] * 6}, headers=h), 422)
    assert p["detail"].startswith("messages") and "max_messages_per_append" in p["detail"]
    conv = {"conversation_id": "x", "messages": [msg("a", "hi")]}
    p = problem_of(client.post("/v1/score", json={"conversations": [conv] * 4}, headers=h), 422)
    assert "max_conversations_per_request" in p["detail"]
    long = {"conversation_id": "x", "messages": [msg("a", "hi")] * 11}
    p = problem_of(client.post("/v1/score", json={"conversations": [long]}, headers=h), 422)
    assert p["detail"].startswith("conversations.0.messages")
    p = problem_of(client.post("/v1/conversations/" + "c" * 300 + "/messages", json={"messages": [msg("a", "x")]},
                               headers=h), 422)
    assert p["detail"].startswith("conversation_id")
    p = problem_of(client.get("/v1/cases", params={"limit": 10_000}, headers=auth(keys["review"])), 422)
    assert p["detail"].startswith("limit")
    p = problem_of(client.get("/v1/cases", params={"status": "bogus"}, headers=auth(keys["review"])), 422)
    assert p["detail"].startswith("status")


def test_oversize_body_413_before_parsing(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    big = json.dumps({"messages": [msg("a", SECRET * 2000)]}).encode()
    p = problem_of(client.post(APPEND, content=big, headers={**auth(keys["score"]),
                                                             "content-type": "application/json"}), 413)
    assert "max_body_bytes" in p["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"messages": [{"author": "a", "text": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}]}'

    r = client.post(APPEND, content=chunks(), headers={**auth(keys["score"]), "content-type": "application/json"})
    problem_of(r, 413)


def test_unknown_ids_and_bad_decisions(env: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = env
    h = auth(keys["review"])
    assert "case" in problem_of(client.get("/v1/cases/does-not-exist", headers=h), 404)["detail"]
    problem_of(client.post("/v1/cases/does-not-exist/decision", json={"decision": "confirmed"}, headers=h), 404)
    p = problem_of(client.post("/v1/cases/x/decision", json={"decision": "maybe"}, headers=h), 422)
    assert p["detail"].startswith("decision")
    problem_of(client.get("/v1/nope", headers=h), 404)
    problem_of(client.delete("/v1/cases", headers=h), 405)


def test_mutation_fuzz_never_500(env: tuple[TestClient, dict[str, str]]) -> None:
    """A small schema-unaware fuzz: random mutations of valid bodies must all be answered < 500."""
    client, keys = env
    rng = random.Random(1234)
    valid_append = {"messages": [msg("a", "hello", "m1", "2025-03-01T18:02:11Z"), msg("b", "hi")]}
    valid_score = {"conversations": [{"conversation_id": "f", "messages": valid_append["messages"],
                                      "label": 1, "first_risk_index": 1}], "route": False}
    weird: list[Any] = [None, 0, -1, 1e308, "", "x" * 50, [], {}, True, [None], {"a": 1}, "2025-13-45", "\u0000"]

    def mutate(node: Any) -> Any:
        if isinstance(node, dict) and node and rng.random() < 0.7:
            k = rng.choice(list(node))
            out = dict(node)
            choice = rng.random()
            if choice < 0.5:
                out[k] = mutate(node[k])
            elif choice < 0.75:
                del out[k]
            else:
                out[rng.choice(["extra", k + "_", "label"])] = rng.choice(weird)
            return out
        if isinstance(node, list) and node and rng.random() < 0.7:
            out_l = list(node)
            i = rng.randrange(len(out_l))
            out_l[i] = mutate(out_l[i])
            return out_l
        return rng.choice(weird)

    statuses = set()
    for i in range(150):
        path, base = (APPEND, valid_append) if i % 2 else ("/v1/score", valid_score)
        r = client.post(path, json=mutate(base), headers=auth(keys["score"]))
        statuses.add(r.status_code)
        assert r.status_code < 500, (r.status_code, r.text)
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json"
    assert statuses & {400, 422}
