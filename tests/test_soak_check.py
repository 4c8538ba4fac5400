"""benchmarks/soak_check.py on hand-made soak results: the verdicts worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.soak_check import ReleaseCheck, main, release_check


def result(p99s: list[float], rss: list[tuple[float, float]], errors: int = 0, minutes: float = 16) -> dict[str, Any]:
    return {"minutes": minutes, "server_alive_at_end": True,
            "totals": {"server_errors_5xx": errors, "transport_errors": 0},
            "per_minute": [{"minute": m, "routes": {"append": {"p99_ms": p}}} for m, p in enumerate(p99s)],
            "samples": [{"t_s": t, "rss_mb": r} for t, r in rss]}


# A 16-minute run (>= 5 warm-up + 2 x 5): minutes 0-4 p99 100, 300, 200, 150, 120 -> median 150;
# minutes 11-15: 170, 160, 900, 175, 165 -> median 170; minute 16 (partial) is left out. 170 / 150 = 1.133
P99 = [100, 300, 200, 150, 120, *[999] * 6, 170, 160, 900, 175, 165, 5000]
# warm-up 5 min: the first sample at t >= 300 s is 200 MB, the last 215 MB: +7.5 %
RSS = [(0, 100.0), (290, 190.0), (300, 200.0), (600, 210.0), (720, 215.0)]


def test_a_clean_run_passes_with_the_numbers_worked_by_hand() -> None:
    v = release_check(result(P99, RSS), ReleaseCheck())
    assert v["judged"] and v["passed"]
    assert (v["append_p99_first_ms"], v["append_p99_last_ms"]) == (150, 170)
    assert abs(v["append_p99_ratio"] - 170 / 150) < 1e-12
    assert (v["rss_mb_after_warmup"], v["rss_mb_last"]) == (200.0, 215.0) and abs(v["rss_growth"] - 0.075) < 1e-12


def test_each_limit_fails_the_check_alone() -> None:
    assert not release_check(result(P99, RSS, errors=1), ReleaseCheck())["passed"]
    tight = release_check(result(P99, RSS), ReleaseCheck(max_p99_ratio=1.1, max_rss_growth=0.05))
    assert not tight["append_p99_ok"] and not tight["rss_ok"] and not tight["passed"]


def test_a_run_too_short_to_judge_is_not_passed() -> None:
    v = release_check(result(P99[:9], RSS, minutes=9), ReleaseCheck())  # 9 < 5 + 2 x 5
    assert not v["judged"] and not v["passed"] and "rss_growth" not in v


def test_cli_reads_a_saved_json(tmp_path: Path) -> None:
    path = tmp_path / "soak.json"
    path.write_text(json.dumps(result(P99, RSS)))
    assert main([str(path)]) == 0
    path.write_text(json.dumps(result(P99, RSS, errors=3)))
    assert main([str(path)]) == 1
    assert main([str(tmp_path / "missing.json")]) == 2
