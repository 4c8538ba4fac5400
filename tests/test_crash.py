"""SIGKILL during a burst of appends loses no acknowledged message and no case.

Starts `groomguard serve` as a real subprocess (uvicorn, tiny bundle, SQLite in a tmp dir), fires
appends from threads, kills the server with SIGKILL mid-burst, restarts it on the same database and
checks every message whose append was acknowledged (200) is stored, and every case is still there.
The server's own log output is checked for the (synthetic) message text and author handles.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.support.server import auth, free_port, make_config, make_keys, wait_ready

TEXT_MARK = "qv-synthetic-crash-text"
HANDLE_MARK = "qv-handle"


def start_server(bundle: Path, db: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "groomguard", "serve", "--bundle", str(bundle), "--host", "127.0.0.1",
           "--port", str(port), "--store-url", f"sqlite:///{db}", "--log-level", "debug",
           "--set", "engine.providers=[CPUExecutionProvider]", "--set", "engine.intra_op_threads=1",
           "--set", "thresholds={review: 0.0, high: 1.0}", "--set", "auth.key_cache_seconds=0"]
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, base, log_path)
    except AssertionError:
        proc.kill()
        raise
    return proc, base


@pytest.mark.slow
def test_sigkill_mid_burst_loses_nothing_acknowledged(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    log_path = tmp_path / "server.log"
    keys = make_keys(make_config(db))
    proc, base = start_server(tiny_bundle_dir, db, log_path)
    acked: dict[str, list[str]] = {}
    cases: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def worker(w: int) -> None:
        conv = f"crash-{w}"
        with httpx.Client(base_url=base, headers=auth(keys["score"]), timeout=10) as client:
            for i in range(150):
                if stop.is_set():
                    return
                mid = f"{conv}-m{i}"
                body = {"messages": [{"author": f"{HANDLE_MARK}-{w}-{i % 2}", "text": f"{TEXT_MARK} {w} {i}",
                                      "message_id": mid}]}
                try:
                    r = client.post(f"/v1/conversations/{conv}/messages", json=body)
                except httpx.HTTPError:
                    return  # the server died under us: this message was not acknowledged
                if r.status_code in (200, 201):
                    with lock:
                        acked.setdefault(conv, []).append(mid)
                        if r.json()["case_id"]:
                            cases[conv] = r.json()["case_id"]

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sum(len(v) for v in acked.values()) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-burst: the workers are still sending
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(20)
    n_acked = sum(len(v) for v in acked.values())
    assert n_acked >= 60, "burst too small to be meaningful"
    assert set(cases) == set(acked), "review threshold 0: every acknowledged conversation has a case"

    proc, base = start_server(tiny_bundle_dir, db, log_path)
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for conv, case_id in cases.items():
                r = client.get(f"/v1/cases/{case_id}", headers=auth(keys["review"]))
                assert r.status_code == 200, (conv, r.text)
                stored = {m["message_id"] for m in r.json()["messages"]}
                missing = set(acked[conv]) - stored
                assert not missing, f"{conv}: acknowledged but lost: {sorted(missing)[:5]}"
            page = client.get("/v1/cases", params={"limit": 200}, headers=auth(keys["review"])).json()
            assert set(cases.values()) <= {c["case_id"] for c in page["items"]}
            # retrying every acknowledged message is a no-op: the store knows them all
            for conv, mids in acked.items():
                for mid in mids[-3:]:
                    body = {"messages": [{"author": f"{HANDLE_MARK}-x", "text": TEXT_MARK, "message_id": mid}]}
                    r = client.post(f"/v1/conversations/{conv}/messages", json=body, headers=auth(keys["score"]))
                    assert r.status_code == 200 and r.json()["duplicates"] == 1 and r.json()["accepted"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    logs = log_path.read_text(errors="replace")
    assert "Application startup complete" in logs or "serving model=" in logs
    assert TEXT_MARK not in logs, "message text leaked into the server log"
    assert HANDLE_MARK not in logs, "author handle leaked into the server log"


@pytest.mark.parametrize("flag", ["--help"])
def test_serve_help(flag: str) -> None:
    out = subprocess.run([sys.executable, "-m", "groomguard", "serve", flag], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for opt in ("--config", "--bundle", "--host", "--port", "--backend", "--triton-url", "--triton-protocol"):
        assert opt in out.stdout


def test_serve_missing_bundle_is_one_line_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "groomguard", "serve", "--bundle", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error:") and len(out.stderr.strip().splitlines()) == 1
