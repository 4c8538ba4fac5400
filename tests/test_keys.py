"""API keys: hashed storage, verification, scopes, revocation and the `groomguard keys` CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from groomguard.serving.apikeys import ApiKeyError, create_key, list_keys, revoke_key, verify_key
from groomguard.serving.store import Store, StoreConfig, open_store
from groomguard.serving.store.orm import ApiKeyRow, AuditRow
from tests.support.store import run_cli

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.support.store_fixtures"]


def test_create_verify_revoke(store: Store) -> None:
    info, plaintext = create_key(store, "gateway", {"score", "review"})
    assert info.scopes == frozenset({"score", "review"})
    found = verify_key(store, plaintext)
    assert found is not None and found.key_id == info.key_id and found.allows("score") and not found.allows("admin")
    assert verify_key(store, plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert verify_key(store, "gg_nosuchkey_abc") is None
    assert verify_key(store, "not-a-key") is None
    admin, admin_plain = create_key(store, "ops", {"admin"})
    got = verify_key(store, admin_plain)
    assert got is not None and got.allows("review") and got.allows("score")  # admin implies all
    revoked = revoke_key(store, info.key_id)
    assert revoked.revoked_at is not None
    assert verify_key(store, plaintext) is None
    assert revoke_key(store, info.key_id).revoked_at == revoked.revoked_at  # idempotent
    assert [k.key_id for k in list_keys(store)] == [info.key_id, admin.key_id]
    with store.read() as s:
        rows = list(s.scalars(select(ApiKeyRow)))
        actions = [a.action for a in s.scalars(select(AuditRow).order_by(AuditRow.id))]
    assert len(rows) == 2 and all(plaintext.split("_", 2)[2] not in r.secret_hash for r in rows)
    assert actions == ["key:create", "key:create", "key:revoke"]
    with pytest.raises(ApiKeyError):
        create_key(store, "x", {"superuser"})
    with pytest.raises(ApiKeyError):
        revoke_key(store, "missing")


def test_plaintext_never_stored(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    store = open_store(StoreConfig(url=f"sqlite:///{db}"))
    _, plaintext = create_key(store, "gateway", {"score"})
    store.close()
    secret = plaintext.split("_", 2)[2].encode()
    for f in tmp_path.iterdir():
        assert secret not in f.read_bytes()


def gg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "groomguard", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_keys_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    created = gg("keys", "create", "--scope", "review", "--scope", "score", "--name", "moderation-ui", cwd=tmp_path)
    assert created.returncode == 0, created.stderr  # the installed entry point, once, in a real process
    monkeypatch.chdir(tmp_path)
    plaintext = created.stdout.split()[-1]
    db = tmp_path / "var" / "groomguard.db"
    assert db.is_file(), "default store is var/groomguard.db under the working directory"
    store = open_store(StoreConfig(url=f"sqlite:///{db}"))
    try:
        info = verify_key(store, plaintext)
        assert info is not None and info.scopes == frozenset({"review", "score"})
    finally:
        store.close()
    code, listed, _ = run_cli(capsys, "keys", "list")
    assert code == 0 and info.key_id in listed and plaintext not in listed
    assert run_cli(capsys, "keys", "revoke", info.key_id)[0] == 0
    row = next(line for line in run_cli(capsys, "keys", "list")[1].splitlines() if line.startswith(info.key_id))
    assert not row.rstrip().endswith("-")  # the REVOKED column now has a time
    code, _, err = run_cli(capsys, "keys", "create", "--scope", "root", "--name", "x")
    assert code == 2 and "unknown scope" in err and "Traceback" not in err
    assert run_cli(capsys, "keys", "revoke", "no-such-id")[0] == 2
    other = tmp_path / "other.db"
    code, out, _ = run_cli(capsys, "keys", "create", "-s", "admin", "-n", "x", "--db-url", f"sqlite:///{other}")
    assert code == 0 and out.split()[-1].startswith("gg_")
    assert other.is_file()


def test_ensure_local(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "var" / "local-api-key.txt"
    code, first, err = run_cli(capsys, "keys", "ensure-local", "-o", str(out))
    assert code == 0, err
    key = out.read_text().strip()
    assert first.split()[-1] == key
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    code, second, _ = run_cli(capsys, "keys", "ensure-local", "-o", str(out))
    assert code == 0 and key not in second and str(out) in second
    assert out.read_text().strip() == key
    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'var' / 'groomguard.db'}"))
    try:
        info = verify_key(store, key)
        assert info is not None and info.scopes == frozenset({"score", "review", "admin"})
        revoke_key(store, info.key_id)
    finally:
        store.close()
    code, third, _ = run_cli(capsys, "keys", "ensure-local", "-o", str(out))
    assert code == 0 and out.read_text().strip() != key and third.split()[-1] == out.read_text().strip()
