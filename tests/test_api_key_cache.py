"""The API-key cache at its shipped default (configs/serve.yaml), through the real app.

Every other API test disables the cache (`auth.key_cache_seconds=0`), so these are the tests that
pin the production path: keys that share a long prefix and suffix never share a cache entry (a
cache keyed on part of the key would hand one key's scopes to another), an unknown key that
resembles a real one is refused without poisoning the real one's entry, and a revoked key stops
working once the configured TTL has passed (a fake monotonic clock replaces waiting).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

import groomguard.serving.api.auth as auth_module
import groomguard.serving.apikeys as apikeys_module
from benchmarks.support.server import auth, make_config, msg, running_app
from groomguard.config import default_config_path
from groomguard.serving.settings import ServeConfig

CONV_BODY = {"conversations": [{"conversation_id": "cache-c", "messages": [msg("a", "hi there"), msg("b", "hello")]}]}
SHIPPED_TTL = float(yaml.safe_load(default_config_path("serve.yaml").read_text())["auth"]["key_cache_seconds"])


class FakeClock:
    """Stands in for the `time` module inside groomguard.serving.api.auth (only `monotonic` is used there)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(auth_module, "time", fake)
    return fake


def default_config(db: Path) -> ServeConfig:
    """The test config with the cache back at the shipped default."""
    return make_config(db, f"auth.key_cache_seconds={SHIPPED_TTL}")


def lookalike_keys(config: ServeConfig) -> dict[str, tuple[str, str]]:
    """A score key and a review key that differ only in the last character of id and secret."""
    from groomguard.serving.store import open_store

    ids, secrets_ = iter(["aaaaaaaaaaa1", "aaaaaaaaaaa2"]), iter(["S" * 42 + "1", "S" * 42 + "2"])
    store = open_store(config.store)
    out = {}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(apikeys_module.secrets, "token_hex", lambda n: next(ids))
            mp.setattr(apikeys_module.secrets, "token_urlsafe", lambda n: next(secrets_))
            for scope in ("score", "review"):
                info, key = apikeys_module.create_key(store, f"lookalike-{scope}", {scope})
                out[scope] = (info.key_id, key)
    finally:
        store.close()
    return out


@pytest.fixture
def app_and_keys(tiny_bundle_dir: Path, tmp_path: Path,
                 clock: FakeClock) -> Iterator[tuple[TestClient, ServeConfig, dict[str, tuple[str, str]]]]:
    cfg = default_config(tmp_path / "gg.db")
    keys = lookalike_keys(cfg)
    with running_app(cfg, tiny_bundle_dir) as client:
        yield client, cfg, keys


def test_shipped_default_keeps_the_cache_on() -> None:
    assert SHIPPED_TTL > 0, "these tests exist to cover the cache; update them if it is turned off"


def test_lookalike_keys_never_share_a_cache_entry(
        app_and_keys: tuple[TestClient, ServeConfig, dict[str, tuple[str, str]]]) -> None:
    client, _, keys = app_and_keys
    score_key, review_key = keys["score"][1], keys["review"][1]
    assert score_key[:-1].replace("aaaaaaaaaaa1", "") == review_key[:-1].replace("aaaaaaaaaaa2", "")
    # each key first, then the other: whichever is cached first must not answer for the other
    assert client.post("/v1/score", json=CONV_BODY, headers=auth(score_key)).status_code == 200
    assert client.get("/v1/cases", headers=auth(review_key)).status_code == 200
    assert client.get("/v1/cases", headers=auth(score_key)).status_code == 403
    assert client.post("/v1/score", json=CONV_BODY, headers=auth(review_key)).status_code == 403
    # an unknown key one character away is refused, and its negative entry does not stick to the real one
    forged = score_key[:-1] + "9"
    assert client.post("/v1/score", json=CONV_BODY, headers=auth(forged)).status_code == 401
    assert client.post("/v1/score", json=CONV_BODY, headers=auth(score_key)).status_code == 200


def test_revoked_key_stops_within_the_configured_ttl(
        app_and_keys: tuple[TestClient, ServeConfig, dict[str, tuple[str, str]]], clock: FakeClock) -> None:
    from groomguard.serving.store import open_store

    client, cfg, keys = app_and_keys
    key_id, key = keys["review"]
    assert client.get("/v1/cases", headers=auth(key)).status_code == 200  # verified and cached at t0
    store = open_store(cfg.store)
    try:
        apikeys_module.revoke_key(store, key_id)
    finally:
        store.close()
    clock.now += SHIPPED_TTL / 2
    # documented window: the cached answer may outlive the revocation, but never past the TTL
    assert client.get("/v1/cases", headers=auth(key)).status_code == 200
    clock.now += SHIPPED_TTL / 2 + 0.001
    assert client.get("/v1/cases", headers=auth(key)).status_code == 401
    assert client.get("/v1/cases", headers=auth(keys["score"][1])).status_code == 403  # other key unaffected
