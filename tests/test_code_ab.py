"""benchmarks/code_ab.py: the two-checkout A/B reports medians per side and B / A (numbers worked by hand)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks.code_ab import flatten, main, summarise

SCRIPT = """import json, pathlib, sys
calls = pathlib.Path("calls.txt")
n = len(calls.read_text().splitlines()) if calls.exists() else 0
calls.write_text(calls.read_text() + "x\\n" if calls.exists() else "x\\n")
base = float(pathlib.Path("value.txt").read_text())
print("noise before the JSON")
print(json.dumps({"10": {"median_ms": base + n, "first_message": 1}, "label": "s", "ok": True}))
"""


def _checkout(root: Path, value: float) -> Path:
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (root / "value.txt").write_text(str(value))
    (root / "bench.py").write_text(SCRIPT)
    return root


def test_flatten_keeps_numeric_leaves_only() -> None:
    assert flatten({"10": {"median_ms": 2, "x": "s"}, "ok": True, "n": 1.5, "l": [1]}) == {"10.median_ms": 2.0,
                                                                                          "n": 1.5}


def test_summary_is_median_per_side_and_the_ratio() -> None:
    rounds = {"a": [{"k": 10.0}, {"k": 30.0}, {"k": 20.0}], "b": [{"k": 11.0}, {"k": 22.0}, {"k": 99.0}]}
    assert summarise(rounds) == {"k": {"a": 20.0, "b": 22.0, "b_over_a": 1.1}}


def test_two_checkouts_alternate_and_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Side A prints 10 + (its call number), side B 12 + (its call number): three rounds each give
    A 10, 11, 12 and B 12, 13, 14, so the medians are 11 and 13 and B / A = 13 / 11."""
    a, b = _checkout(tmp_path / "a", 10), _checkout(tmp_path / "b", 12)
    out = tmp_path / "ab.json"
    assert main(["--a", str(a), "--b", str(b), "--rounds", "3", "-o", str(out), "--", "bench.py"]) == 0
    summary = json.loads(out.read_text())["summary"]
    assert summary == {"10.first_message": {"a": 1.0, "b": 1.0, "b_over_a": 1.0},
                       "10.median_ms": {"a": 11.0, "b": 13.0, "b_over_a": round(13 / 11, 4)}}
    assert (a / "calls.txt").read_text().count("x") == 3 and (b / "calls.txt").read_text().count("x") == 3
    assert "round 2/3 b: done" in capsys.readouterr().err


def test_a_checkout_without_its_venv_is_named(tmp_path: Path) -> None:
    b = _checkout(tmp_path / "b", 1)
    with pytest.raises(SystemExit, match=r"no \.venv/bin/python"):
        main(["--a", str(tmp_path), "--b", str(b), "--rounds", "1", "--", "bench.py"])
