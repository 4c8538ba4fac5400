"""HTTP-side measurements of `python -m benchmarks`: streaming appends through the real stack.

The app runs as a `groomguard serve` process on a loopback port, SQLite in a temporary directory
and a real API key. Clients are threads of the benchmark's process, each with its own keep-alive
connection, each replaying one of the benchmark's conversations (the ones its engine windows come
from, so window lengths match) one message per request into its own conversation id. The client is
the standard library's `http.client`: the load generator shares the cores with the server, and
httpx cost 1.6-1.7 core-ms per request here against 0.5.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from groomguard.schema import Conversation


class Client:
    """One keep-alive HTTP/1.1 connection posting JSON (the cheapest load generator at hand)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self._headers = {**headers, "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self._conn.request("POST", path, body=json.dumps(body), headers=self._headers)
        answer = self._conn.getresponse()
        data = answer.read()
        return answer.status, json.loads(data) if data else {}

    def ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.post(path, body)
        if status != 200:
            raise RuntimeError(f"POST {path} answered {status}")
        return answer

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._conn.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def serving(bundle_dir: Path, variant: str, threads: int,
            extra: tuple[str, ...] = ()) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, auth header) of a running `groomguard serve` process; stopped on exit.

    The server is its own process, as deployed: with the app in this process, the load generator's
    threads would share its interpreter lock and their cost would be billed to the server.
    """
    from benchmarks.support.server import serve_process
    from groomguard.serving.apikeys import create_key
    from groomguard.serving.settings import load_serve_config
    from groomguard.serving.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        settings = [f"store.url=sqlite:///{tmp}/bench.db", "engine.providers=[CPUExecutionProvider]",
                    f"engine.variant={variant}", f"engine.intra_op_threads={threads}",
                    "state.tail_messages=128", "limits.max_messages_per_append=100", *extra]
        store = open_store(load_serve_config(None, settings).store)
        try:
            key = create_key(store, "bench", {"score"})[1]
        finally:
            store.close()
        with serve_process(bundle_dir, settings, Path(tmp) / "server.log") as served:
            yield served.url, {"Authorization": f"Bearer {key}"}


def _message(conv: Conversation, i: int) -> dict[str, Any]:
    """Message i of a replay of `conv` (cycled when i runs past its end)."""
    m = conv.messages[i % len(conv.messages)]
    return {"author": m.author, "text": m.text, "message_id": f"m{i}"}


def append_clients(url: str, headers: dict[str, str], clients: int, per_client: int,
                   convs: list[Conversation], tag: str = "", per_request: int = 1) -> dict[str, Any]:
    """`clients` threads, each `per_client` appends of `per_request` messages to its own conversation
    (every message is scored: `per_request` windows per request)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def worker(c: int) -> None:
        with Client(url, headers) as http:
            conv = convs[c % len(convs)]
            http.post(f"/v1/conversations/warm-{c}/messages", {"messages": [_message(conv, 0)]})
            start.wait()
            for i in range(per_client):
                t0 = time.perf_counter()
                status, _ = http.post(f"/v1/conversations/{tag}c{clients}k{per_request}-{c}/messages",
                                      {"messages": [_message(conv, i * per_request + k) for k in range(per_request)]})
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    errors[0] += status != 200

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "messages_per_request": per_request, "requests": len(latencies), "errors": errors[0],
            "req_per_s": len(latencies) / wall, "messages_per_s": per_request * len(latencies) / wall,
            "p50_ms": 1000 * _pct(latencies, 0.5), "p99_ms": 1000 * _pct(latencies, 0.99)}


def append_latency(url: str, headers: dict[str, str], conv: Conversation,
                   marks: tuple[int, ...] = (10, 100, 1000), samples: int = 5,
                   conversation_id: str = "latency", replays: int = 1,
                   case_open: dict[str, bool] | None = None) -> dict[str, float]:
    """Median latency (ms) of single-message appends at message ~N of a replay of `conv`.

    The conversation is grown to N - samples with bulk appends (100 messages a request), then
    `samples` single appends are timed just before the mark: the stored state, not how it got
    there, is what an append at message N pays for. With `replays` > 1 the whole procedure runs on
    that many fresh conversation ids and the median is over all their samples (the same message
    positions, more samples: a median of 7 moves by ±15 % on a shared VM). `case_open`, when given,
    is filled with whether the conversation had an open case at each mark (an append to a conversation
    with a case also writes evidence and score history: a different amount of work).
    """
    times: dict[int, list[float]] = {mark: [] for mark in marks}
    with Client(url, headers) as http:
        for replay in range(replays):
            have = 0
            path = f"/v1/conversations/{conversation_id}-{replay}/messages"
            for mark in marks:
                while have < mark - samples:
                    n = min(100, mark - samples - have)
                    http.ok(path, {"messages": [_message(conv, have + k) for k in range(n)]})
                    have += n
                for _ in range(samples):
                    t0 = time.perf_counter()
                    status, answer = http.post(path, {"messages": [_message(conv, have)]})
                    times[mark].append(time.perf_counter() - t0)
                    if status != 200:
                        raise RuntimeError(f"POST {path} answered {status}")
                    if case_open is not None:
                        case_open[str(mark)] = case_open.get(str(mark), False) or answer["case_id"] is not None
                    have += 1
    return {str(mark): 1000 * statistics.median(ts) for mark, ts in times.items()}
