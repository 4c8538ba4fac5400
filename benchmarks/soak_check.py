"""The soak's release check (issue 26), read off a soak JSON: 0 server errors, RSS growth after warm-up
within a bound, append p99 at the end within a ratio of the start.

Why a module of its own: the verdict is what a release manager reads, so it is computed the same way
for every run, by `benchmarks/soak.py` at the end of a run and again on any saved JSON:

    python -m benchmarks.soak_check reports/soak.json

- **RSS growth**: the first sample taken at or after `warmup_minutes` against the last sample (pools,
  caches and the model session fill during warm-up; growth after it is the leak signal).
- **Append p99 drift**: the median of the per-minute append p99s over the first `window_minutes`
  against the median over the last `window_minutes` complete minutes (a median of minutes, so one
  unlucky minute does not decide the verdict either way).
- A run shorter than `warmup_minutes + 2 * window_minutes` is not judged on drift or growth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReleaseCheck(BaseModel):
    """configs/soak.yaml `release_check`: the issue-26 targets."""

    model_config = ConfigDict(extra="forbid")

    warmup_minutes: float = Field(default=5, ge=0)
    window_minutes: int = Field(default=5, ge=1)
    max_rss_growth: float = Field(default=0.10, ge=0)  # 0.10 = +10 % after warm-up
    max_p99_ratio: float = Field(default=1.2, gt=0)  # last window's append p99 / first window's


def _median_p99(per_minute: list[dict[str, Any]], minutes: range, route: str) -> float | None:
    p99s = [m["routes"][route]["p99_ms"] for m in per_minute
            if m["minute"] in minutes and route in m["routes"] and m["routes"][route]["p99_ms"] is not None]
    return statistics.median(p99s) if p99s else None


def release_check(result: dict[str, Any], limits: ReleaseCheck) -> dict[str, Any]:
    """The verdict block of a soak result (module docstring): each measure, its limit and pass/fail."""
    totals = result["totals"]
    errors = int(totals["server_errors_5xx"]) + int(totals["transport_errors"])
    out: dict[str, Any] = {"limits": limits.model_dump(), "server_errors": errors, "server_errors_ok": errors == 0,
                           "server_alive_ok": bool(result["server_alive_at_end"])}
    whole = int(result["minutes"])  # complete minutes of load (a last partial minute is left out)
    judged = result["minutes"] >= limits.warmup_minutes + 2 * limits.window_minutes
    out["judged"] = judged
    if judged:
        warm = [s for s in result["samples"] if s["t_s"] >= limits.warmup_minutes * 60]
        first, last = (warm[0]["rss_mb"], warm[-1]["rss_mb"]) if warm else (None, None)
        growth = (last - first) / first if first else None
        w = limits.window_minutes
        start = _median_p99(result["per_minute"], range(0, w), "append")
        end = _median_p99(result["per_minute"], range(whole - w, whole), "append")
        ratio = end / start if start and end is not None else None
        out.update({
            "rss_mb_after_warmup": first, "rss_mb_last": last, "rss_growth": growth,
            "rss_ok": growth is not None and growth <= limits.max_rss_growth,
            "append_p99_first_ms": start, "append_p99_last_ms": end, "append_p99_ratio": ratio,
            "append_p99_ok": ratio is not None and ratio <= limits.max_p99_ratio,
        })
    judged_ok = [out["rss_ok"], out["append_p99_ok"]] if judged else []
    out["passed"] = judged and all([out["server_errors_ok"], out["server_alive_ok"], *judged_ok])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.soak_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("soak_json", type=Path, help="a JSON written by `python -m benchmarks.soak`")
    args = ap.parse_args(argv)
    try:
        result = json.loads(args.soak_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: {args.soak_json}: {exc}", file=sys.stderr)
        return 2
    limits = ReleaseCheck.model_validate(result.get("config", {}).get("release_check") or {})
    verdict = release_check(result, limits)
    print(json.dumps(verdict, indent=2))
    return 0 if verdict["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
