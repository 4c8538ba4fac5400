"""Every route x every scope: no key -> 401, wrong scope -> 403, right scope (or admin) -> not 401/403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.support.server import auth, make_config, make_keys, msg, running_app

CONV = {"conversation_id": "auth-c", "messages": [msg("a", "hi there"), msg("b", "hello")]}

# (method, path, json body, required scope); {case} is filled with a real case id.
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/v1/score", {"conversations": [CONV]}, "score"),
    ("POST", "/v1/conversations/auth-c/messages", {"messages": [msg("a", "hi there")]}, "score"),
    ("GET", "/v1/cases", None, "review"),
    ("GET", "/v1/cases/{case}", None, "review"),
    ("POST", "/v1/cases/{case}/decision", {"decision": "dismissed", "note": "synthetic"}, "review"),
    ("GET", "/v1/cases/export", None, "admin"),
]
PUBLIC = ["/healthz", "/readyz", "/metrics"]


@pytest.fixture(scope="module")
def env(tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str],
                                                                                         str]]:
    cfg = make_config(tmp_path_factory.mktemp("auth") / "gg.db", "thresholds={review: 0.0, high: 1.0}")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        r = client.post("/v1/conversations/auth-seed/messages", json={"messages": [msg("a", "hello")]},
                        headers=auth(keys["score"]))
        assert r.status_code == 200, r.text
        yield client, keys, r.json()["case_id"]


def _call(client: TestClient, method: str, path: str, body: dict[str, Any] | None, case: str,
          headers: dict[str, str]) -> int:
    return client.request(method, path.format(case=case), json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
@pytest.mark.parametrize("scope", ["none", "bogus", "score", "review", "admin"])
def test_route_scope_matrix(env: tuple[TestClient, dict[str, str], str], method: str, path: str,
                            body: dict[str, Any] | None, needed: str, scope: str) -> None:
    client, keys, case = env
    if scope == "none":
        r = client.request(method, path.format(case=case), json=body)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["www-authenticate"].startswith("Bearer")
        return
    key = "gg_not-a-real-key" if scope == "bogus" else keys[scope]
    status = _call(client, method, path, body, case, auth(key))
    if scope == "bogus":
        assert status == 401
    elif scope == needed or scope == "admin":
        assert status in (200, 409), f"{scope} on {method} {path} -> {status}"
    else:
        assert status == 403, f"{scope} on {method} {path} -> {status}"


def test_x_api_key_header_and_mismatch(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, keys, _ = env
    assert client.get("/v1/cases", headers={"X-API-Key": keys["review"]}).status_code == 200
    both = {"X-API-Key": keys["review"], "Authorization": f"Bearer {keys['admin']}"}
    assert client.get("/v1/cases", headers=both).status_code == 401
    assert client.get("/v1/cases", headers={"Authorization": f"Basic {keys['review']}"}).status_code == 401


def test_public_ops_endpoints(env: tuple[TestClient, dict[str, str], str]) -> None:
    client, _, _ = env
    for path in PUBLIC:
        assert client.get(path).status_code == 200, path


def test_revoked_key_is_refused(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from groomguard.serving.apikeys import create_key, revoke_key
    from groomguard.serving.store import open_store

    cfg = make_config(tmp_path / "gg.db")
    store = open_store(cfg.store)
    info, key = create_key(store, "soon-revoked", {"review"})
    store.close()
    with running_app(cfg, tiny_bundle_dir) as client:
        assert client.get("/v1/cases", headers=auth(key)).status_code == 200
        store = open_store(cfg.store)
        revoke_key(store, info.key_id)
        store.close()
        assert client.get("/v1/cases", headers=auth(key)).status_code == 401


def test_metrics_scope_when_configured(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "gg.db", "auth.metrics_scope=admin")
    keys = make_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=auth(keys["review"])).status_code == 403
        assert client.get("/metrics", headers=auth(keys["admin"])).status_code == 200
