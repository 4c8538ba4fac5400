"""Soak: every kind of traffic at once against a real `groomguard serve` process, for minutes to hours.

Why: what breaks a service that runs for a year rarely shows in a 10-second benchmark: memory or
file descriptors that leak a little per request, a database that grows although retention should
hold it, latency that creeps up as tables grow, a 5xx that only an unlucky interleaving of an
append, a purge and a decision produces. So this runs, concurrently:

- `--clients` append clients (one keep-alive connection each), each over its own rotating set of
  conversations (a fresh id now and then, so old ones go idle and retention purges them);
- bulk `POST /v1/score` with `route: true` (opens cases);
- a moderator on the desk (logged in through the form: queue page, case page);
- a decider taking the oldest open case and deciding it through the API;
- the server's own retention purge, shortened in configs/soak.yaml so it deletes during the run;

and samples the server's RSS, open file descriptors and database size every `sample_every_s`,
latency p50/p99 per route per minute, and 4xx/5xx/transport errors. The result is one JSON file.

    python -m benchmarks.soak --bundle models/bundles/demo --minutes 30 --clients 8 -o reports/soak.json

Defaults: configs/soak.yaml (`--config` merges a file over it, `--set key=value` overrides).
`--db-url postgresql+psycopg://...` soaks a PostgreSQL store (an empty database) instead of a
temporary SQLite file. The load generator shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import make_url

from benchmarks.soak_check import ReleaseCheck, release_check

# Innocuous chat lines (school, sport, weekend plans): the soak measures the service, not the model.
LINES = ["did you finish the maths homework", "see you at football practice at five",
         "the bus is late again today", "can you send me the notes from biology",
         "my cousin is visiting this weekend", "which film should we watch on friday",
         "i forgot my lunch at home", "the science fair is next month", "good luck with the test tomorrow",
         "we won the match three to one"]
DESK_USER, DESK_PASSWORD = "soak-moderator", "soak password for the desk"


class SoakConfig(BaseModel):
    """configs/soak.yaml: the mix and pace of the traffic and the server's settings."""

    model_config = ConfigDict(extra="forbid")

    minutes: float = Field(gt=0)
    clients: int = Field(ge=1)
    conversations_per_client: int = Field(ge=1)
    new_conversation_every: int = Field(ge=1)
    messages_per_append: int = Field(ge=1)
    append_every_s: float = Field(ge=0)  # each client's pace (0: back to back, which saturates the model)
    bulk_every_s: float = Field(gt=0)
    bulk_conversations: int = Field(ge=1)
    bulk_messages: int = Field(ge=1)
    desk_every_s: float = Field(gt=0)
    decide_every_s: float = Field(gt=0)
    sample_every_s: float = Field(gt=0)
    server_settings: list[str]
    release_check: ReleaseCheck = Field(default_factory=ReleaseCheck)


class Recorder:
    """Latency and status per (minute, route), thread-safe; minutes count from the load's start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self.latency: dict[tuple[int, str], list[float]] = defaultdict(list)
        self.status: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)

    def record(self, route: str, status: int | None, seconds: float) -> None:
        minute = int((time.monotonic() - self.t0) // 60)
        kind = "transport" if status is None else f"{status // 100}xx"
        with self._lock:
            self.latency[(minute, route)].append(seconds * 1000)
            self.status[(minute, route)][kind] += 1

    @staticmethod
    def _stats(ms: list[float], counts: Counter[str]) -> dict[str, Any]:
        ordered = sorted(ms)
        return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 2) if ordered else None,
                "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2) if ordered else None,
                "2xx": counts["2xx"], "4xx": counts["4xx"], "5xx": counts["5xx"],
                "transport_errors": counts["transport"]}

    def per_minute(self) -> list[dict[str, Any]]:
        with self._lock:
            minutes = sorted({m for m, _ in self.latency})
            return [{"minute": m, "routes": {r: self._stats(self.latency[(m, r)], self.status[(m, r)])
                                             for (mm, r) in sorted(self.latency) if mm == m}} for m in minutes]

    def totals(self) -> dict[str, Any]:
        with self._lock:
            lat: dict[str, list[float]] = defaultdict(list)
            counts: dict[str, Counter[str]] = defaultdict(Counter)
            for (_, route), ms in self.latency.items():
                lat[route].extend(ms)
            for (_, route), c in self.status.items():
                counts[route].update(c)
        by_route = {r: self._stats(lat[r], counts[r]) for r in sorted(lat)}
        return {"requests": sum(v["n"] for v in by_route.values()),
                "server_errors_5xx": sum(v["5xx"] for v in by_route.values()),
                "client_errors_4xx": sum(v["4xx"] for v in by_route.values()),
                "transport_errors": sum(v["transport_errors"] for v in by_route.values()),
                "by_route": by_route}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    db_url: str
    keys: dict[str, str]
    log: Path


@contextmanager
def serving(bundle: Path, cfg: SoakConfig, workdir: Path, db_url: str | None) -> Iterator[Server]:
    """A `groomguard serve` process on a free loopback port with keys and a desk user; stopped on exit."""
    from benchmarks.support.server import serve_process
    from groomguard.serving.apikeys import create_key
    from groomguard.serving.desk.users import create_user
    from groomguard.serving.settings import load_serve_config
    from groomguard.serving.store import open_store

    url_db = db_url or f"sqlite:///{workdir / 'soak.db'}"
    settings = [f"store.url={url_db}", *cfg.server_settings]
    serve_cfg = load_serve_config(None, settings)
    store = open_store(serve_cfg.store)
    try:
        keys = {scope: create_key(store, f"soak-{scope}", {scope})[1] for scope in ("score", "review", "admin")}
        create_user(store, DESK_USER, "moderator", DESK_PASSWORD, serve_cfg.desk)
    finally:
        store.close()
    log_path = workdir / "server.log"
    with serve_process(bundle, settings, log_path) as served:
        yield Server(served.proc, served.url, url_db, keys, log_path)


class Load:
    """The concurrent workers; each records every request it makes, never raises out of its loop."""

    def __init__(self, server: Server, cfg: SoakConfig, rec: Recorder, seed: int = 0) -> None:
        self.server, self.cfg, self.rec = server, cfg, rec
        self.stop = threading.Event()
        self.seed = seed
        self.appended = Counter[str]()  # messages acknowledged per worker kind (sanity, in the JSON)
        self._lock = threading.Lock()

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.appended[what] += n

    def _timed(self, client: httpx.Client, route: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = client.request(method, path, **kw)
        except httpx.HTTPError:
            self.rec.record(route, None, time.perf_counter() - t)
            return None
        self.rec.record(route, r.status_code, time.perf_counter() - t)
        return r

    def appender(self, c: int) -> None:
        rnd = random.Random(self.seed * 1000 + c)
        if self.stop.wait(rnd.uniform(0, self.cfg.append_every_s)):  # clients out of step
            return
        parts = self.server.url.split(":")
        conn = http.client.HTTPConnection("127.0.0.1", int(parts[-1]), timeout=60)
        headers = {"Authorization": f"Bearer {self.server.keys['score']}", "Content-Type": "application/json"}
        convs = [f"s{c}-{k}" for k in range(self.cfg.conversations_per_client)]
        next_id, seq, n = len(convs), Counter[str](), 0
        while not self.stop.is_set():
            began = time.perf_counter()
            conv = convs[n % len(convs)]
            msgs = []
            for _ in range(self.cfg.messages_per_append):
                msgs.append({"author": ("ana", "ben")[seq[conv] % 2], "text": rnd.choice(LINES),
                             "message_id": f"{conv}-{seq[conv]}"})
                seq[conv] += 1
            t = time.perf_counter()
            try:
                conn.request("POST", f"/v1/conversations/{conv}/messages", body=json.dumps({"messages": msgs}),
                             headers=headers)
                answer = conn.getresponse()
                answer.read()
                self.rec.record("append", answer.status, time.perf_counter() - t)
                if answer.status == 200:
                    self._count("append_messages", len(msgs))
            except (OSError, http.client.HTTPException):
                self.rec.record("append", None, time.perf_counter() - t)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", int(parts[-1]), timeout=60)
            n += 1
            if n % self.cfg.new_conversation_every == 0:  # retire one: it goes idle, retention purges it
                convs[rnd.randrange(len(convs))] = f"s{c}-{next_id}"
                next_id += 1
            self.stop.wait(max(0.0, self.cfg.append_every_s - (time.perf_counter() - began)))
        conn.close()

    def bulk(self) -> None:
        rnd = random.Random(self.seed + 7)
        k = 0
        with httpx.Client(base_url=self.server.url, timeout=60,
                          headers={"Authorization": f"Bearer {self.server.keys['score']}"}) as client:
            while not self.stop.wait(self.cfg.bulk_every_s):
                convs = [{"conversation_id": f"bulk-{k}-{i}",
                          "messages": [{"author": ("ana", "ben")[j % 2], "text": rnd.choice(LINES)}
                                       for j in range(self.cfg.bulk_messages)]}
                         for i in range(self.cfg.bulk_conversations)]
                k += 1
                self._timed(client, "score_bulk", "POST", "/v1/score", json={"conversations": convs, "route": True})

    def desk(self) -> None:
        import re

        csrf_re = re.compile(r'name="csrf" value="([^"]+)"')
        with httpx.Client(base_url=self.server.url, timeout=60) as client, \
                httpx.Client(base_url=self.server.url, timeout=60,
                             headers={"Authorization": f"Bearer {self.server.keys['review']}"}) as api:
            page = self._timed(client, "desk_login", "GET", "/review/login")
            found = csrf_re.search(page.text) if page is not None else None
            if found is None:
                return
            self._timed(client, "desk_login", "POST", "/review/login", follow_redirects=False,
                        data={"username": DESK_USER, "password": DESK_PASSWORD, "csrf": found.group(1)})
            while not self.stop.wait(self.cfg.desk_every_s):
                self._timed(client, "desk_queue", "GET", "/review")
                listed = self._timed(api, "cases_list", "GET", "/v1/cases", params={"limit": 20})
                if listed is not None and listed.status_code == 200 and listed.json()["items"]:
                    case = random.choice(listed.json()["items"])["case_id"]
                    self._timed(client, "desk_case", "GET", f"/review/cases/{case}")
                    self._timed(api, "case_get", "GET", f"/v1/cases/{case}")

    def decider(self) -> None:
        rnd = random.Random(self.seed + 11)
        with httpx.Client(base_url=self.server.url, timeout=60,
                          headers={"Authorization": f"Bearer {self.server.keys['review']}"}) as api:
            while not self.stop.wait(self.cfg.decide_every_s):
                listed = self._timed(api, "cases_list", "GET", "/v1/cases", params={"status": "open", "limit": 5})
                if listed is None or listed.status_code != 200 or not listed.json()["items"]:
                    continue
                case = listed.json()["items"][-1]["case_id"]
                r = self._timed(api, "decision", "POST", f"/v1/cases/{case}/decision",
                                json={"decision": rnd.choice(["confirmed", "dismissed"]), "note": "soak"})
                if r is not None and r.status_code == 200:
                    self._count("decisions")


def db_bytes(db_url: str) -> int:
    """SQLite: the file plus its WAL and shared-memory index; PostgreSQL: pg_database_size."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        base = Path(str(url.database))
        return sum(p.stat().st_size for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists())
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def store_counts(db_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    queries = {"conversations": "SELECT COUNT(*) FROM conversations",
               "cases": "SELECT COUNT(*) FROM cases",
               "cases_open": "SELECT COUNT(*) FROM cases WHERE status IN ('open', 'escalated')",
               "cases_decided": "SELECT COUNT(*) FROM cases WHERE decided_at IS NOT NULL",
               "purge_runs": "SELECT COUNT(*) FROM audit_log WHERE action = 'retention:purge'"}
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            out = {k: int(conn.execute(text(q)).scalar_one()) for k, q in queries.items()}
            purged: Counter[str] = Counter()
            for (detail,) in conn.execute(text("SELECT detail FROM audit_log WHERE action = 'retention:purge'")):
                counts = json.loads(detail) if isinstance(detail, str) else (detail or {})
                purged.update({f"purged_{k}": int(v) for k, v in counts.items() if isinstance(v, int)})
            return {**out, **purged}
    finally:
        engine.dispose()


def sampler(server: Server, stop: threading.Event, every_s: float, t0: float, out: list[dict[str, Any]]) -> None:
    proc = psutil.Process(server.proc.pid)
    while True:
        try:
            out.append({"t_s": round(time.monotonic() - t0, 1), "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                        "open_fds": proc.num_fds(), "threads": proc.num_threads(),
                        "db_bytes": db_bytes(server.db_url)})
        except (psutil.Error, OSError):
            pass
        if stop.wait(every_s):
            return


def run(bundle: Path, cfg: SoakConfig, db_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="groomguard-soak-") as tmp, \
            serving(bundle, cfg, Path(tmp), db_url) as server:
        rec = Recorder()
        load = Load(server, cfg, rec)
        samples: list[dict[str, Any]] = []
        stop_sampling = threading.Event()
        threads = [threading.Thread(target=sampler, args=(server, stop_sampling, cfg.sample_every_s, rec.t0, samples),
                                    daemon=True)]
        threads += [threading.Thread(target=load.appender, args=(c,), daemon=True) for c in range(cfg.clients)]
        threads += [threading.Thread(target=f, daemon=True) for f in (load.bulk, load.desk, load.decider)]
        for t in threads:
            t.start()
        time.sleep(cfg.minutes * 60)
        load.stop.set()
        for t in threads[1:]:
            t.join(timeout=120)
        stop_sampling.set()
        threads[0].join(timeout=30)
        elapsed = time.monotonic() - rec.t0
        counts = store_counts(server.db_url)
        alive = server.proc.poll() is None
        log_lines = server.log.read_text(errors="replace").splitlines()
        purge_failures = sum("retention purge failed" in ln for ln in log_lines)
        log_tail = log_lines[-20:]
    totals = rec.totals()
    first, last = (samples[0], samples[-1]) if samples else ({}, {})
    result = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": _command_line(),
        "minutes": cfg.minutes, "clients": cfg.clients, "elapsed_s": round(elapsed, 1),
        "bundle": str(bundle), "store": "sqlite" if db_url is None else make_url(db_url).get_backend_name(),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "config": cfg.model_dump(),
        "totals": totals,
        "throughput_rps": round(totals["requests"] / elapsed, 1) if elapsed else None,
        "acknowledged": dict(load.appended),
        "per_minute": rec.per_minute(),
        "samples": samples,
        "growth": {
            "rss_mb_first": first.get("rss_mb"), "rss_mb_last": last.get("rss_mb"),
            "rss_mb_max": max((s["rss_mb"] for s in samples), default=None),
            "open_fds_first": first.get("open_fds"), "open_fds_last": last.get("open_fds"),
            "open_fds_max": max((s["open_fds"] for s in samples), default=None),
            "db_bytes_first": first.get("db_bytes"), "db_bytes_last": last.get("db_bytes"),
        },
        "store_after": {**counts, "purge_failures_logged": purge_failures},
        "server_alive_at_end": alive,
        "server_log_tail": [ln for ln in log_tail if "WARNING" in ln or "ERROR" in ln][-10:],
    }
    result["release_check"] = release_check(result, cfg.release_check)
    return result


def _command_line() -> str:
    """This run's command for the report, with any database password masked."""
    from groomguard.serving.store.db import safe_url

    args = list(sys.argv[1:])
    for i, arg in enumerate(args):
        if arg.startswith("--db-url="):
            args[i] = "--db-url=" + safe_url(arg.split("=", 1)[1])
        elif i > 0 and args[i - 1] == "--db-url":
            args[i] = safe_url(arg)
    return " ".join(["python", "-m", "benchmarks.soak", *args])


def load_soak_config(path: Path | None, sets: list[str], values: dict[str, Any]) -> SoakConfig:
    from groomguard.config import load_config

    return load_config(SoakConfig, path, sets, default="soak.yaml", values=values)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, required=True, help="model bundle directory the server loads")
    ap.add_argument("--minutes", type=float, help="length of the load (configs/soak.yaml: minutes)")
    ap.add_argument("--clients", type=int, help="concurrent append clients (configs/soak.yaml: clients)")
    ap.add_argument("--db-url", help="soak a PostgreSQL store (an empty database) instead of a temporary SQLite file")
    ap.add_argument("--config", type=Path, help="YAML merged over configs/soak.yaml")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("-o", "--output", type=Path, default=Path("reports/soak.json"))
    args = ap.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"error: --bundle: {args.bundle}: no such bundle directory", file=sys.stderr)
        return 2
    values = {k: v for k, v in (("minutes", args.minutes), ("clients", args.clients)) if v is not None}
    try:
        cfg = load_soak_config(args.config, args.sets, values)
    except Exception as exc:  # a config error is one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run(args.bundle, cfg, args.db_url)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    t = result["totals"]
    print(f"{result['elapsed_s']:.0f} s, {t['requests']} requests ({result['throughput_rps']}/s), "
          f"5xx {t['server_errors_5xx']}, transport errors {t['transport_errors']}, "
          f"RSS {result['growth']['rss_mb_first']} -> {result['growth']['rss_mb_last']} MB, "
          f"fds {result['growth']['open_fds_first']} -> {result['growth']['open_fds_last']}; release check "
          f"{'passed' if result['release_check']['passed'] else 'not passed'}; wrote {args.output}")
    return 0 if t["server_errors_5xx"] == 0 and t["transport_errors"] == 0 and result["server_alive_at_end"] else 1


if __name__ == "__main__":
    sys.exit(main())
