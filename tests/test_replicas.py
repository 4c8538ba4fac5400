"""Two real gateway replicas on one PostgreSQL database: nothing lost, one case, consistent scores.

Starts two `groomguard serve` processes at the same moment on a fresh schema (they race the
migration), then many client threads append to the same few conversations, alternating replicas
per request and re-sending some messages through the *other* replica (a client retry after a
timeout). Expectations are computed independently of the servers: the set of message ids sent,
and the risks the same bundle gives, scored locally, to the conversation as it was stored.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from benchmarks.support.server import auth, free_port, wait_ready
from groomguard.schema import Conversation, Message

pytest_plugins = ["tests.support.store_fixtures"]
pytestmark = pytest.mark.postgres

CONVERSATIONS = 4
CLIENTS = 8
PER_CLIENT = 12  # messages per client thread (spread over the conversations)
TAIL = 400  # > messages per conversation: the whole conversation stays in the tail and can be rescored


def _server_cmd(bundle: Path, url: str, port: int) -> list[str]:
    return [sys.executable, "-m", "groomguard", "serve", "--bundle", str(bundle), "--host", "127.0.0.1",
            "--port", str(port), "--store-url", url,
            "--set", "engine.providers=[CPUExecutionProvider]", "--set", "engine.intra_op_threads=1",
            "--set", "thresholds={review: 0.0, high: 1.0}",  # every conversation opens its case at once
            "--set", f"state.tail_messages={TAIL}", "--set", "auth.key_cache_seconds=0",
            "--set", "batching.max_delay_ms=1", "--set", "retention.purge_interval_minutes=60"]


@pytest.fixture()
def replicas(sharp_bundle_dir: Path, pg_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two servers started together on the same empty schema; yields their base URLs."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    procs: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for i in range(2):
            port = free_port()
            log = tmp_path / f"replica{i}.log"
            with log.open("wb") as fh:
                proc = subprocess.Popen(_server_cmd(sharp_bundle_dir, pg_url, port), stdout=fh,
                                        stderr=subprocess.STDOUT, env=env)
            procs.append((proc, f"http://127.0.0.1:{port}", log))
        for proc, base, log in procs:
            wait_ready(proc, base, log)
        yield [base for _, base, _ in procs]
    finally:
        for proc, _, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _, _ in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _keys(url: str) -> dict[str, str]:
    from groomguard.serving.apikeys import create_key
    from groomguard.serving.store import StoreConfig, open_store

    store = open_store(StoreConfig(url=url))
    try:
        return {scope: create_key(store, f"replica-{scope}", {scope})[1] for scope in ("score", "review")}
    finally:
        store.close()


def _post(client: httpx.Client, conv: str, body: dict[str, Any]) -> dict[str, Any]:
    """Append; a 503 (overload, Retry-After) is retried: appends are idempotent by message_id."""
    for _ in range(20):
        r = client.post(f"/v1/conversations/{conv}/messages", json=body)
        if r.status_code != 503:
            assert r.status_code == 200, r.text
            return dict(r.json())
        time.sleep(float(r.headers.get("retry-after", "1")) / 4)
    raise AssertionError("append kept answering 503")


def test_two_replicas_on_one_database(replicas: list[str], pg_url: str, sharp_bundle_dir: Path) -> None:
    keys = _keys(pg_url)
    convs = [f"rep-{c}" for c in range(CONVERSATIONS)]
    lock = threading.Lock()
    responses: dict[str, list[dict[str, Any]]] = {c: [] for c in convs}
    sent: dict[str, set[str]] = {c: set() for c in convs}

    def client(k: int) -> None:
        rng = random.Random(k)
        sessions = [httpx.Client(base_url=b, headers=auth(keys["score"]), timeout=30) for b in replicas]
        try:
            for i in range(PER_CLIENT):
                conv = convs[rng.randrange(CONVERSATIONS)]
                mid = f"c{k}-m{i}"
                body = {"messages": [{"author": f"user{k % 3}", "text": f"synthetic hello {k} {i} "
                                      + "homework game pizza"[: rng.randrange(4, 19)], "message_id": mid}]}
                first = _post(sessions[(k + i) % 2], conv, body)
                got = [first]
                if i % 4 == 0:  # the client re-sends through the other replica (lost response, retry)
                    got.append(_post(sessions[(k + i + 1) % 2], conv, body))
                with lock:
                    sent[conv].add(mid)
                    responses[conv].extend(got)
        finally:
            for s in sessions:
                s.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))

    from groomguard import load_engine
    from groomguard.serving.store import StoreConfig, open_store
    from groomguard.serving.store.orm import CaseRow, ConversationRow, ReceiptRow, TailMessageRow
    from groomguard.serving.store.statuses import ACCOUNT_KIND

    engine = load_engine(str(sharp_bundle_dir), providers=["CPUExecutionProvider"], intra_op_threads=1)
    store = open_store(StoreConfig(url=pg_url))
    try:
        for conv in convs:
            n = len(sent[conv])
            outs = responses[conv]
            # every message id accepted exactly once across both replicas; retries were duplicates
            assert sum(o["accepted"] for o in outs) == n
            assert sum(o["duplicates"] for o in outs) == len(outs) - n
            with store.read() as s:
                row = s.get(ConversationRow, conv)
                tail = list(s.scalars(select(TailMessageRow).where(TailMessageRow.conversation_id == conv)
                                      .order_by(TailMessageRow.seq)))
                receipts = list(s.scalars(select(ReceiptRow).where(ReceiptRow.conversation_id == conv)))
                # the conversation's own case (the three authors' account cases may name it too)
                cases = list(s.scalars(select(CaseRow).where(CaseRow.conversation_id == conv,
                                                             CaseRow.kind != ACCOUNT_KIND)))
            assert row is not None and row.message_count == n
            assert [t.seq for t in tail] == list(range(n)), "no lost or doubled positions"
            assert {t.message_id for t in tail} == sent[conv] == {r.message_id for r in receipts}
            # one case per conversation, opened by exactly one request, named in every answer
            assert len(cases) == 1 and cases[0].status == "open", [(c.case_id, c.status) for c in cases]
            assert sum(o["case_opened"] for o in outs) == 1
            assert {o["case_id"] for o in outs} == {cases[0].case_id}
            # every stored risk is the model's risk of the window ending there, in the stored order
            stored = Conversation(conversation_id=conv, messages=[
                Message(author=t.author, text=t.text, message_id=t.message_id) for t in tail])
            expected = engine.score_conversations([stored])[0].risk_by_message
            for t, want in zip(tail, expected, strict=True):
                assert t.risk is not None and abs(t.risk - want) < 1e-5, (t.seq, t.risk, want)
            assert abs(row.max_risk - max(expected)) < 1e-5
            assert abs(cases[0].max_risk - max(expected)) < 1e-5
            by_id = {r.message_id: r for r in receipts}
            for t in tail:  # each answer's risk is the one stored for its message
                assert abs(by_id[t.message_id].risk - t.risk) < 1e-9
        # the case views agree when read through either replica
        for base in replicas:
            page = httpx.get(f"{base}/v1/cases", params={"limit": 50}, headers=auth(keys["review"]), timeout=10)
            assert page.status_code == 200
            items = page.json()["items"]
            assert sorted(c["conversation_id"] for c in items if c["kind"] != "account") == sorted(convs)
            # the authors write in several conversations each: at most one account case per author
            accounts = [c["account"] for c in items if c["kind"] == "account"]
            assert len(accounts) == len(set(accounts)) and set(accounts) <= {"user0", "user1", "user2"}
    finally:
        store.close()
        engine.close()
