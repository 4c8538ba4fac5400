"""HTTP API end to end: real ONNX Runtime (tiny bundle), real SQLite, real keys, TestClient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import SYNTHETIC_THREAD, auth, make_config, make_keys, msg, running_app
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig


@pytest.fixture(scope="module")
def routed(tiny_bundle_dir: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """An app whose review threshold is 0: every scored conversation opens a case."""
    cfg = make_config(tmp_path_factory.mktemp("api") / "gg.db", "thresholds={review: 0.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        yield client, keys


def test_score_matches_engine_and_stores_nothing(routed: tuple[TestClient, dict[str, str]],
                                                 tiny_bundle_dir: Path) -> None:
    client, keys = routed
    convs = [
        {"conversation_id": "s-1", "messages": [msg(a, t) for a, t in SYNTHETIC_THREAD]},
        {"conversation_id": "s-2", "messages": [msg("p", "is the homework due friday?"), msg("q", "yes")]},
    ]
    cases_before = client.get("/v1/cases", params={"limit": 200}, headers=auth(keys["review"])).json()["total"]
    r = client.post("/v1/score", json={"conversations": convs}, headers=auth(keys["score"]))
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["conversation_id"] for x in results] == ["s-1", "s-2"]
    from groomguard.schema import Conversation

    engine = build_engine(str(tiny_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        expected = engine.score_conversations([Conversation.model_validate(c) for c in convs])
    finally:
        engine.close()
    for got, exp in zip(results, expected, strict=True):
        assert got["risk_by_message"] == pytest.approx(exp.risk_by_message, abs=1e-5)
        assert got["risk"] == pytest.approx(max(exp.risk_by_message), abs=1e-5)
        assert got["level"] == "review"  # thresholds overridden by the serve config
        assert got["model"] == "tiny@test"
        assert got["case_id"] is None
    cases = client.get("/v1/cases", params={"limit": 200}, headers=auth(keys["review"])).json()
    assert cases["total"] == cases_before  # stateless scoring opened no case
    assert all(c["conversation_id"] not in ("s-1", "s-2") for c in cases["items"])


def test_score_with_route_opens_case(routed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = routed
    conv = {"conversation_id": "routed-1", "messages": [msg(a, t) for a, t in SYNTHETIC_THREAD]}
    r = client.post("/v1/score", json={"conversations": [conv], "route": True}, headers=auth(keys["score"]))
    assert r.status_code == 200, r.text
    case_id = r.json()["results"][0]["case_id"]
    assert case_id
    case = client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"])).json()
    assert case["conversation_id"] == "routed-1"


def test_append_flow_idempotent_and_case_lifecycle(routed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = routed
    url = "/v1/conversations/chat-42/messages"
    first = None
    for i, (author, text) in enumerate(SYNTHETIC_THREAD):
        body = {"messages": [msg(author, text, f"m-{i}", f"2025-03-01T18:0{i}:00Z")]}
        r = client.post(url, json=body, headers=auth(keys["score"]))
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["accepted"] == 1 and out["duplicates"] == 0
        assert 0.0 <= out["risk"] <= out["max_risk"] <= 1.0
        assert out["case_id"], "review threshold 0 -> a case from the first message"
        first = first or out["case_id"]
        assert out["case_id"] == first  # one open case per conversation
        assert out["case_opened"] == (i == 0)
        # a retried request changes nothing and answers the same
        again = client.post(url, json=body, headers=auth(keys["score"]))
        assert again.status_code == 200
        assert {k: v for k, v in again.json().items() if k not in ("accepted", "duplicates", "case_opened")} == \
               {k: v for k, v in out.items() if k not in ("accepted", "duplicates", "case_opened")}
        assert again.json()["duplicates"] == 1 and again.json()["accepted"] == 0

    page = client.get("/v1/cases", params={"status": "open"}, headers=auth(keys["review"])).json()
    ids = [c["case_id"] for c in page["items"]]
    assert first in ids
    risks = [c["max_risk"] for c in page["items"]]
    assert risks == sorted(risks, reverse=True)

    case = client.get(f"/v1/cases/{first}", headers=auth(keys["review"])).json()
    assert [m["message_id"] for m in case["messages"]] == [f"m-{i}" for i in range(len(SYNTHETIC_THREAD))]

    r = client.post(f"/v1/cases/{first}/decision", json={"decision": "confirmed", "note": "synthetic test"},
                    headers=auth(keys["review"]))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert r.json()["decided_by"] == "test-review"
    assert any(a["actor"] == "test-review" for a in r.json()["audit"])

    r = client.get("/v1/cases/export", headers=auth(keys["admin"]))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines() if line]
    exported = [x for x in lines if x["conversation_id"] == "chat-42"]
    assert len(exported) == 1 and exported[0]["label"] == 1
    assert [m["text"] for m in exported[0]["messages"]] == [t for _, t in SYNTHETIC_THREAD]


def test_pagination_and_filters(routed: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = routed
    for i in range(3):
        client.post(f"/v1/conversations/page-{i}/messages", json={"messages": [msg("a", f"hello number {i}")]},
                    headers=auth(keys["score"]))
    h = auth(keys["review"])
    everything = client.get("/v1/cases", params={"limit": 200}, headers=h).json()
    assert everything["total"] >= 3
    first = client.get("/v1/cases", params={"limit": 2, "offset": 0}, headers=h).json()
    second = client.get("/v1/cases", params={"limit": 2, "offset": 2}, headers=h).json()
    assert len(first["items"]) == 2
    assert not {c["case_id"] for c in first["items"]} & {c["case_id"] for c in second["items"]}
    review_items = client.get("/v1/cases", params={"level": "review"}, headers=h).json()["items"]
    assert review_items and all(c["level"] == "review" for c in review_items)
    assert client.get("/v1/cases", params={"level": "high"}, headers=h).json()["total"] == 0


def test_health_ready_metrics(routed: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = routed
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["store_ok"] and body["backend_ok"]
    assert body["model"] == "tiny@test" and body["backend"] == "onnxruntime"
    assert body["provider"] == "CPUExecutionProvider" and body["variant"] == "fp32"  # auto, nothing measured
    text = client.get("/metrics").text
    assert 'groomguard_http_requests_total{method="POST",route="/v1/conversations/{conversation_id}/messages"' \
           ',status="200"}' in text
    assert "groomguard_batch_size_bucket" in text
    assert "groomguard_batch_queue_depth" in text
    assert "groomguard_cases_opened_total" in text
    assert 'groomguard_model_info{backend="onnxruntime",model="tiny@test"' in text
    assert "chat-42" not in text  # raw paths never become labels


def test_unrouted_threshold_keeps_case_null(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", "thresholds={review: 1.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        r = client.post("/v1/conversations/quiet/messages", json={"messages": [msg("a", "see you at practice")]},
                        headers={"X-API-Key": keys["score"]})
        assert r.status_code == 200, r.text
        assert r.json()["case_id"] is None and r.json()["level"] == "low"


def test_accounts(routed: tuple[TestClient, dict[str, str]]) -> None:
    """Issue 25 over HTTP: one author at review in three conversations with three counterparts gets an
    account case (the default rule: two conversations open it, the third is linked to it); the account
    routes show aggregates, never message text."""
    client, keys = routed
    h, score = auth(keys["review"]), auth(keys["score"])
    for i in range(3):
        for who in (f"acct-kid-{i}", "acct-x"):
            r = client.post(f"/v1/conversations/acct-{i}/messages", json={"messages": [msg(who, f"hello there {i}")]},
                            headers=score)
            assert r.status_code == 200
    one = client.get("/v1/accounts/acct-x", headers=h)
    assert one.status_code == 200
    body = one.json()
    assert (body["conversations"], body["counterparts"], body["conversations_review"], body["messages"]) == (3, 3, 3, 3)
    assert sorted(c["conversation_id"] for c in body["conversation_list"]) == ["acct-0", "acct-1", "acct-2"]
    assert "hello there" not in one.text
    kinds = sorted(c["kind"] for c in body["cases"])
    assert kinds == ["account", "conversation", "conversation", "conversation"] and body["open_cases"] == 4
    account_case = next(c for c in body["cases"] if c["kind"] == "account")
    assert account_case["account"] == "acct-x"
    case = client.get(f"/v1/cases/{account_case['case_id']}", headers=h).json()
    assert case["linked_conversations"] == ["acct-0", "acct-1", "acct-2"] and case["messages"] == []
    r = client.post(f"/v1/cases/{account_case['case_id']}/decision", json={"decision": "dismissed"}, headers=h)
    assert r.status_code == 200
    assert [a["action"] for a in r.json()["audit"]] == ["opened", "account:linked", "decision:dismissed"]
    assert client.get("/v1/accounts/acct-x", headers=h).json()["open_cases"] == 3
    kid = client.get("/v1/accounts/acct-kid-0", headers=h).json()
    assert (kid["conversations"], kid["counterparts"]) == (1, 1)
    assert not [c for c in kid["cases"] if c["kind"] == "account"]

    everyone = client.get("/v1/accounts", params={"limit": 200}, headers=h).json()
    assert everyone["total"] == len(everyone["items"]) >= 4
    risks = [a["max_risk"] for a in everyone["items"]]
    assert risks == sorted(risks, reverse=True)
    first = client.get("/v1/accounts", params={"limit": 2}, headers=h).json()["items"]
    second = client.get("/v1/accounts", params={"limit": 2, "offset": 2}, headers=h).json()["items"]
    assert len(first) == 2 and not {a["author"] for a in first} & {a["author"] for a in second}
    assert client.get("/v1/accounts", params={"limit": 100_000}, headers=h).status_code == 422
    assert client.get("/v1/accounts", headers=score).status_code == 403  # review scope
    missing = client.get("/v1/accounts/acct-nobody", headers=h)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert "acct-nobody" not in missing.text
    spec = client.get("/openapi.json").json()["paths"]
    detail = spec["/v1/accounts/{author}"]["get"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AccountDetail")
    assert "404" in detail
    page = spec["/v1/accounts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page["$ref"].endswith("/AccountPage")
