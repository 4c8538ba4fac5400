"""A/B of two checkouts of this repository on one benchmark script, rounds alternated, one machine.

Why: a claim like "the account aggregates cost an append less than 5 %" compares two versions of the
code, and figures taken on different days (or while something else runs) differ by more than that.
Each checkout runs with its own `.venv` (its editable install maps the layers to that checkout), the
rounds alternate A, B, B, A, ... so a drift in the machine's load hits both sides alike, and the
summary is the median of the rounds per key with the ratio B / A.

The script must print one JSON object whose leaves are numbers (nested objects are flattened to
`a.b.c` keys); `benchmarks/append_overhead.py` is the usual one:

    .venv/bin/python -m benchmarks.code_ab --a /work/base --b . --rounds 5 \\
        --bundle models/bundles/demo -- benchmarks/append_overhead.py --samples 21 --data $PWD/data/demo/test.jsonl

`--bundle` is passed to the script (as `--bundle PATH`, made absolute) so both sides score with the
same model. Take the figures on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any


def flatten(obj: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a JSON object as `a.b.c` keys (strings, lists and booleans are dropped)."""
    out: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        out[prefix[:-1]] = float(obj)
    return out


def run_side(checkout: Path, script: list[str], bundle: Path | None) -> dict[str, float]:
    python = checkout / ".venv" / "bin" / "python"
    if not python.is_file():
        raise SystemExit(f"error: {checkout}: no .venv/bin/python (run `make venv` there first)")
    cmd = [str(python), *script, *(["--bundle", str(bundle)] if bundle else [])]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"error: {checkout}: {' '.join(script)} exited {done.returncode}: {done.stderr[-1500:]}")
    return flatten(json.loads(done.stdout[done.stdout.index("{"):]))


def summarise(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per key present on both sides: median of A's rounds, median of B's, and B / A."""
    keys = sorted(set.intersection(*(set(r) for side in rounds.values() for r in side)))
    out = {}
    for k in keys:
        a = statistics.median(r[k] for r in rounds["a"])
        b = statistics.median(r[k] for r in rounds["b"])
        out[k] = {"a": round(a, 4), "b": round(b, 4), "b_over_a": round(b / a, 4) if a else float("nan")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--a", type=Path, required=True, help="baseline checkout (with its own .venv)")
    ap.add_argument("--b", type=Path, required=True, help="candidate checkout (with its own .venv)")
    ap.add_argument("--rounds", type=int, default=5, help="runs per side, alternated A B B A ...")
    ap.add_argument("--bundle", type=Path, default=None, help="bundle passed to the script on both sides")
    ap.add_argument("-o", "--out", type=Path, default=None, help="write the rounds and the summary as JSON")
    ap.add_argument("script", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS]: run from each checkout's root")
    args = ap.parse_args(argv)
    script = args.script[1:] if args.script[:1] == ["--"] else args.script
    if not script:
        ap.error("give the benchmark script after --")
    bundle = args.bundle.resolve() if args.bundle else None
    rounds: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for i in range(args.rounds):
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        for side in order:
            checkout = (args.a if side == "a" else args.b).resolve()
            rounds[side].append(run_side(checkout, script, bundle))
            print(f"round {i + 1}/{args.rounds} {side}: done", file=sys.stderr)
    summary = summarise(rounds)
    result = {"a": str(args.a.resolve()), "b": str(args.b.resolve()), "script": script, "rounds": rounds,
              "summary": summary}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
