"""Input validation at the edge: NUL, lone surrogates, out-of-range timestamps and offsets, coerced
types and id lengths are 422 naming the field - never a 500 and never stored. Synthetic text only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app
from groomguard.schema import Message
from groomguard.serving.review import InvalidRequest
from groomguard.serving.settings import LimitsConfig

Env = tuple[TestClient, dict[str, str], str]


@pytest.fixture(scope="module")
def env(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    cfg = make_config(tmp_path_factory.mktemp("val") / "gg.db", "thresholds={review: 0.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        r = client.post("/v1/conversations/c-case/messages", json={"messages": [msg("a", "hello")]},
                        headers=auth(keys["score"]))
        assert r.status_code == 200 and r.json()["case_id"]
        yield client, keys, str(r.json()["case_id"])


def _422(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"].startswith(field), r.json()


def _raw(client: TestClient, url: str, body: str, key: str) -> Any:
    """Post JSON text as written (so `\\ud800` escapes reach the server as lone surrogates)."""
    return client.post(url, content=body.encode("ascii"), headers={**auth(key), "content-type": "application/json"})


BAD = {"nul": "x\\u0000y", "lone high surrogate": "x\\ud800y", "lone low surrogate": "\\udfff"}


@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
@pytest.mark.parametrize(("template", "field"), [
    ('{"messages": [{"author": "a", "text": "%s"}]}', "messages.0.text"),
    ('{"messages": [{"author": "a%s", "text": "hi"}]}', "messages.0.author"),
    ('{"messages": [{"author": "a", "text": "hi", "message_id": "m%s"}]}', "messages.0.message_id"),
])
def test_append_refuses_nul_and_lone_surrogates(env: Env, bad: str, template: str, field: str) -> None:
    client, keys, _ = env
    _422(_raw(client, "/v1/conversations/c-bad/messages", template % bad, keys["score"]), field)


@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
@pytest.mark.parametrize(("conv", "field"), [
    ('{"conversation_id": "c%s", "messages": [{"author": "a", "text": "hi"}]}', "conversations.0.conversation_id"),
    ('{"conversation_id": "c", "messages": [{"author": "a", "text": "%s"}]}', "conversations.0.messages.0.text"),
    ('{"conversation_id": "c", "messages": [{"author": "a", "text": "hi"}], "predator_ids": ["%s"]}',
     "conversations.0.predator_ids.0"),
    ('{"conversation_id": "c", "messages": [{"author": "a", "text": "hi"}], "tags": ["%s"]}',
     "conversations.0.tags.0"),
    ('{"conversation_id": "c", "messages": [{"author": "a", "text": "hi"}], "source": "%s"}',
     "conversations.0.source"),
    ('{"conversation_id": "c", "messages": [{"author": "a", "text": "hi"}], "lang": "%s"}', "conversations.0.lang"),
])
def test_score_refuses_nul_and_lone_surrogates(env: Env, bad: str, conv: str, field: str) -> None:
    client, keys, _ = env
    _422(_raw(client, "/v1/score", '{"conversations": [%s], "route": true}' % (conv % bad), keys["score"]), field)


@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
def test_decision_note_refuses_nul_and_lone_surrogates(env: Env, bad: str) -> None:
    client, keys, case_id = env
    body = '{"decision": "dismissed", "note": "n' + bad + '"}'
    _422(_raw(client, f"/v1/cases/{case_id}/decision", body, keys["review"]), "note")


def test_path_ids_refuse_nul(env: Env) -> None:
    client, keys, _ = env
    _422(client.post("/v1/conversations/c%00x/messages", json={"messages": [msg("a", "hi")]},
                     headers=auth(keys["score"])), "conversation_id")
    _422(client.get("/v1/cases/ab%00cd", headers=auth(keys["review"])), "case_id")
    _422(client.post("/v1/cases/ab%00cd/decision", json={"decision": "dismissed"}, headers=auth(keys["review"])),
         "case_id")


def test_a_valid_surrogate_pair_is_accepted(env: Env) -> None:
    """Only *lone* surrogates are refused: an escaped emoji (a pair) is ordinary text."""
    client, keys, _ = env
    r = _raw(client, "/v1/conversations/c-emoji/messages",
             '{"messages": [{"author": "a", "text": "nice \\ud83d\\ude00"}]}', keys["score"])
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+01:00"])
def test_timestamps_that_overflow_in_utc_are_422(env: Env, ts: str) -> None:
    client, keys, _ = env
    body = {"messages": [msg("a", "hi", ts=ts)]}
    _422(client.post("/v1/conversations/c-ts/messages", json=body, headers=auth(keys["score"])),
         "messages.0.timestamp")
    score = {"conversations": [{"conversation_id": "c", "messages": [msg("a", "hi", ts=ts)]}]}
    _422(client.post("/v1/score", json=score, headers=auth(keys["score"])), "conversations.0.messages.0.timestamp")


def test_edge_of_range_timestamp_in_utc_is_accepted(env: Env) -> None:
    client, keys, _ = env
    body = {"messages": [msg("a", "hi", ts="9999-12-31T23:59:59Z")]}
    r = client.post("/v1/conversations/c-ts-ok/messages", json=body, headers=auth(keys["score"]))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("body", "field"), [
    ({"messages": [{"author": "a", "text": "hi", "timestamp": 0}]}, "messages.0.timestamp"),
    ({"messages": [{"author": "a", "text": "hi", "timestamp": 1.7e9}]}, "messages.0.timestamp"),
])
def test_numeric_timestamps_are_not_coerced(env: Env, body: dict[str, Any], field: str) -> None:
    client, keys, _ = env
    _422(client.post("/v1/conversations/c-num/messages", json=body, headers=auth(keys["score"])), field)


@pytest.mark.parametrize("route", [0, 1, "true", "false"])
def test_route_must_be_a_boolean(env: Env, route: Any) -> None:
    client, keys, _ = env
    body = {"conversations": [{"conversation_id": "c", "messages": [msg("a", "hi")]}], "route": route}
    _422(client.post("/v1/score", json=body, headers=auth(keys["score"])), "route")


@pytest.mark.parametrize(("query", "field"), [
    ("offset=99999999999999999999", "offset"), ("offset=1000000001", "offset"), ("limit=201", "limit"),
    ("offset=-1", "offset"), ("limit=0", "limit"),
])
def test_paging_is_bounded(env: Env, query: str, field: str) -> None:
    client, keys, _ = env
    _422(client.get(f"/v1/cases?{query}", headers=auth(keys["review"])), field)


def test_paging_at_the_bounds_is_accepted(env: Env) -> None:
    client, keys, _ = env
    r = client.get("/v1/cases?limit=200&offset=1000000000", headers=auth(keys["review"]))
    assert r.status_code == 200 and r.json()["items"] == [], r.text


def test_openapi_declares_the_paging_bounds_and_statuses(env: Env) -> None:
    client, _, _ = env
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/v1/cases"]["get"]["parameters"]}
    assert params["limit"]["maximum"] == 200 and params["limit"]["minimum"] == 1
    assert params["offset"]["maximum"] == 1_000_000_000 and params["offset"]["minimum"] == 0
    assert {"400", "409", "404", "503"} <= set(spec["paths"]["/v1/cases/{case_id}/decision"]["post"]["responses"])
    assert {"400", "413", "422", "503"} <= set(spec["paths"]["/v1/score"]["post"]["responses"])


def test_id_limit_is_one_value_for_api_and_service(env: Env) -> None:
    """255 characters (the column width) pass the API *and* the service; 256 are a 422 at the edge."""
    client, keys, _ = env
    h = auth(keys["score"])
    longest = {"messages": [msg("a" * 255, "hi", "m" * 255)]}
    ok = client.post("/v1/conversations/" + "c" * 255 + "/messages", json=longest, headers=h)
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    _422(client.post("/v1/conversations/" + "c" * 256 + "/messages", json={"messages": [msg("a", "hi")]},
                     headers=h), "conversation_id")
    _422(client.post("/v1/conversations/c/messages", json={"messages": [msg("a" * 256, "hi")]}, headers=h),
         "messages.0.author")
    _422(client.post("/v1/conversations/c/messages", json={"messages": [msg("a", "hi", "m" * 256)]}, headers=h),
         "messages.0.message_id")
    assert LimitsConfig().max_id_chars == 255


def test_service_takes_its_limits_from_limits_config(tmp_path: Path) -> None:
    from groomguard.scores import Thresholds
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
    from tests.support.store import make_windower, tokenizer_path

    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'gg.db'}"))
    try:
        svc = ReviewService.build(store, lambda w: [0.1] * len(w), make_windower(tokenizer_path()),
                                  Thresholds(review=0.5, high=0.8), "t@1", StateConfig(), RetentionConfig(),
                                  LimitsConfig(max_messages_per_append=3, max_id_chars=10))
        hi = [Message(author="a", text="hi")]
        assert svc.append_messages("c" * 10, hi * 3).accepted == 3
        with pytest.raises(InvalidRequest, match="1 to 3 messages"):
            svc.append_messages("c", hi * 4)
        with pytest.raises(InvalidRequest, match="1 to 10 characters"):
            svc.append_messages("c" * 11, hi)
    finally:
        store.close()


def test_nothing_refused_was_stored(env: Env) -> None:
    client, keys, _ = env
    _raw(client, "/v1/conversations/c-never/messages", '{"messages": [{"author": "a", "text": "\\u0000"}]}',
         keys["score"])
    page = client.get("/v1/cases?limit=200", headers=auth(keys["review"])).json()
    assert "c-never" not in json.dumps(page)
