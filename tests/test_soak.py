"""benchmarks/soak.py in miniature (0.2 minutes, 2 clients, the tiny bundle): the JSON has every key
the operations doc reads, every kind of traffic ran, and the server answered no 5xx and dropped no
connection. The long run (30 minutes) is a release check, not part of the suite (docs/operations.md)."""

from __future__ import annotations

import json
from pathlib import Path


def test_short_soak_writes_the_report_with_no_server_errors(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from benchmarks.soak import main

    out = tmp_path / "soak.json"
    rc = main(["--bundle", str(tiny_bundle_dir), "--minutes", "0.2", "--clients", "2", "-o", str(out),
               "--set", "sample_every_s=2", "--set", "bulk_every_s=1", "--set", "desk_every_s=0.5",
               "--set", "decide_every_s=0.5"])
    data = json.loads(out.read_text())
    for key in ("command", "minutes", "clients", "elapsed_s", "totals", "per_minute", "samples", "growth",
                "store_after", "acknowledged", "throughput_rps", "server_alive_at_end", "release_check"):
        assert key in data, key
    totals = data["totals"]
    assert totals["server_errors_5xx"] == 0 and totals["transport_errors"] == 0, totals
    assert data["server_alive_at_end"] is True
    # 0.2 minutes is too short to judge growth or drift: the run is not a release check
    assert data["release_check"]["server_errors_ok"] and not data["release_check"]["judged"]
    routes = totals["by_route"]
    for route in ("append", "score_bulk", "desk_queue", "desk_case", "cases_list", "case_get", "decision"):
        assert routes[route]["n"] > 0 and routes[route]["2xx"] > 0, (route, routes.get(route))
        assert routes[route]["p50_ms"] is not None and routes[route]["p99_ms"] >= routes[route]["p50_ms"]
    assert data["acknowledged"]["append_messages"] > 0
    assert data["per_minute"] and "append" in data["per_minute"][0]["routes"]
    assert len(data["samples"]) >= 2
    for sample in data["samples"]:
        assert sample["rss_mb"] > 0 and sample["open_fds"] > 0 and sample["db_bytes"] > 0
    assert data["store_after"]["conversations"] > 0 and data["store_after"]["cases_decided"] > 0
    assert rc == 0
