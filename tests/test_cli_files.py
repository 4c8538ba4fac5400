"""`groomguard score` file handling as a user meets it (real subprocess): inputs UTF-8 (BOM tolerated),
other encodings one line; outputs checked before the model loads, written atomically, `-` = stdio;
errors name the flag."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from groomguard.cli.files import atomic_output

ROOT = Path(__file__).resolve().parent.parent
CONV = {"conversation_id": "c-1", "messages": [{"author": "a", "text": "is the homework due friday?"},
                                               {"author": "b", "text": "yes, page 40"}]}
LINE = json.dumps(CONV)


def score(bundle: Path, inp: str | Path, out: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "groomguard", "score", "--bundle", str(bundle), "-i", str(inp), "-o", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, input=stdin)


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(f in errors[0] for f in fragments), r.stderr[-2000:]


def test_missing_input_names_the_flag_and_writes_nothing(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    _one_line_exit_2(score(tiny_bundle_dir, tmp_path / "nope.jsonl", out), "--input", "nope.jsonl")
    assert not out.exists()


def test_output_that_is_a_directory_names_the_flag(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(LINE + "\n", encoding="utf-8")
    _one_line_exit_2(score(tiny_bundle_dir, inp, tmp_path), "--output", "is a directory")


def test_utf16_input_is_one_line_and_leaves_no_output(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "scores.jsonl"
    inp.write_text(LINE + "\n", encoding="utf-16")
    _one_line_exit_2(score(tiny_bundle_dir, inp, out), "in.jsonl:1", "not UTF-8")
    assert not out.exists() and list(tmp_path.iterdir()) == [inp]  # no empty output, no temp file


def test_bad_line_midway_leaves_no_partial_output(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "scores.jsonl"
    out.write_text("previous run\n", encoding="utf-8")
    inp.write_text(LINE + "\n" + "{not json\n", encoding="utf-8")
    _one_line_exit_2(score(tiny_bundle_dir, inp, out), "in.jsonl:2")
    assert out.read_text(encoding="utf-8") == "previous run\n"  # untouched, not truncated or half-written


def test_bom_is_tolerated_and_dash_means_stdio(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text("\ufeff" + LINE + "\n", encoding="utf-8")
    r = score(tiny_bundle_dir, inp, "-")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["conversation_id"] for row in rows] == ["c-1"] and len(rows[0]["risk_by_message"]) == 2
    assert not (ROOT / "-").exists()
    r = score(tiny_bundle_dir, "-", tmp_path / "from-stdin.jsonl", stdin=LINE + "\n")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "from-stdin.jsonl").read_text())["conversation_id"] == "c-1"


def test_atomic_output_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as fh:
        fh.write("half")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_output(target) as fh:
        fh.write("new")
    assert target.read_text(encoding="utf-8") == "new"
