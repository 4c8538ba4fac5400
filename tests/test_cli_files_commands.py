"""File flags of `data stats|convert|split`, `evaluate`, `keys ensure-local`, `data audit` as a user
meets them (real subprocess): errors are one line naming the flag (exit 2) and come before any
work; outputs are atomic; `-` is stdin/stdout; inputs are UTF-8 with a BOM tolerated."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from groomguard.cli.files import FileArgumentError, atomic_output, check_out_dir
from groomguard.config import read_yaml
from groomguard.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
CONV = {"conversation_id": "c-1", "label": 0, "messages": [{"author": "a", "text": "is the homework due friday?"},
                                                          {"author": "b", "text": "yes, page 40"}]}
LINE = json.dumps(CONV)


def gg(*args: str | Path, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "groomguard", *(str(a) for a in args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120, input=stdin, env=env)


def one_line_exit_2(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(f in errors[0] for f in fragments), r.stderr[-2000:]


def test_split_out_dir_that_is_a_file_is_one_line_and_leaves_it_alone(tmp_path: Path) -> None:
    inp, target = tmp_path / "in.jsonl", tmp_path / "taken"
    inp.write_text(LINE + "\n", encoding="utf-8")
    target.write_text("keep me", encoding="utf-8")
    one_line_exit_2(gg("data", "split", "-i", inp, "-o", target), "--output", "is not a directory")
    assert target.read_text(encoding="utf-8") == "keep me"


def test_evaluate_out_that_is_a_file_fails_before_anything_is_read(tmp_path: Path) -> None:
    # The bundle does not exist: had scoring (or even bundle loading) started first, the error would
    # be about the bundle. Naming --output proves the output is checked before any work.
    inp, target = tmp_path / "test.jsonl", tmp_path / "report"
    inp.write_text(LINE + "\n", encoding="utf-8")
    target.write_text("a file", encoding="utf-8")
    one_line_exit_2(gg("evaluate", "--bundle", tmp_path / "no-bundle", "-i", inp, "-o", target),
                    "--output", "is not a directory")
    one_line_exit_2(gg("evaluate", "--bundle", tmp_path / "no-bundle", "-i", tmp_path / "nope.jsonl",
                       "-o", tmp_path / "r"), "--input", "nope.jsonl")


def test_convert_stdin_to_stdout_with_a_bom(tmp_path: Path) -> None:
    r = gg("data", "convert", "-i", "-", "-o", "-", stdin="\ufeff" + LINE + "\n", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["conversation_id"] for line in r.stdout.splitlines()] == ["c-1"]
    assert list(tmp_path.iterdir()) == []  # no file named "-", no temporary left behind


def test_convert_failure_midway_leaves_the_previous_output_untouched(tmp_path: Path) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(LINE + "\n{not json\n", encoding="utf-8")
    out.write_text("previous run\n", encoding="utf-8")
    one_line_exit_2(gg("data", "convert", "-i", inp, "-o", out), "in.jsonl:2")
    assert out.read_text(encoding="utf-8") == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]


def test_convert_output_under_a_file_names_the_flag(tmp_path: Path) -> None:
    inp = tmp_path / "in.jsonl"
    inp.write_text(LINE + "\n", encoding="utf-8")
    one_line_exit_2(gg("data", "convert", "-i", inp, "-o", inp / "x.jsonl"), "--output", "is not a directory")


def test_stats_encodings(tmp_path: Path) -> None:
    bom, utf16, ids = tmp_path / "bom.jsonl", tmp_path / "u16.jsonl", tmp_path / "predators.txt"
    bom.write_text("\ufeff" + LINE + "\n", encoding="utf-8")
    utf16.write_text(LINE + "\n", encoding="utf-16")
    ids.write_text("a\n", encoding="utf-16")
    r = gg("data", "stats", "-i", bom, "-o", "-")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conversations"] == 1
    one_line_exit_2(gg("data", "stats", "-i", utf16), "u16.jsonl:1", "not UTF-8")
    one_line_exit_2(gg("data", "stats", "-i", bom, "--predators", ids), "--predators", "predators.txt:1", "not UTF-8")
    one_line_exit_2(gg("data", "stats", "-i", tmp_path / "nope.jsonl"), "--input", "no such file")
    r = gg("data", "stats", "-i", "-", "-o", "-", stdin=LINE + "\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["input"] == {"path": "-", "format": "jsonl", "skipped_records": 0}


def test_keys_ensure_local_writes_a_private_file_and_refuses_stdout(tmp_path: Path) -> None:
    db, out = f"sqlite:///{tmp_path / 'gg.db'}", tmp_path / "keys" / "local.txt"
    r = gg("keys", "ensure-local", "--db-url", db, "-o", out)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = out.read_text(encoding="utf-8").strip()
    assert key and key in r.stdout
    assert list(out.parent.iterdir()) == [out]  # no temporary left
    one_line_exit_2(gg("keys", "ensure-local", "--db-url", db, "-o", "-"), "--output", "stdout")
    one_line_exit_2(gg("keys", "ensure-local", "--db-url", db, "-o", tmp_path), "--output", "is a directory")


def test_config_with_a_bom_reads_and_utf16_is_one_line(tmp_path: Path) -> None:
    bom, utf16 = tmp_path / "bom.yaml", tmp_path / "u16.yaml"
    bom.write_text("\ufeffsplit:\n  seed: 3\n", encoding="utf-8")
    utf16.write_text("split:\n  seed: 3\n", encoding="utf-16")
    assert read_yaml(bom) == {"split": {"seed": 3}}
    with pytest.raises(ConfigError, match=r"u16\.yaml: not UTF-8"):
        read_yaml(utf16)


def test_check_out_dir(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x", encoding="utf-8")
    check_out_dir("--out", tmp_path)  # existing directory
    check_out_dir("--out", tmp_path / "new" / "deeper")  # created later under a writable directory
    for bad, fragment in ((tmp_path / "f", "is not a directory"), (tmp_path / "f" / "sub", "is not a directory"),
                          (Path("-"), "not -")):
        with pytest.raises(FileArgumentError, match=fragment):
            check_out_dir("--out", bad)


def test_atomic_output_uses_the_umask_unless_a_mode_is_given(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "a.txt") as fh:
            fh.write("a")
        with atomic_output(tmp_path / "b.txt", mode=0o600) as fh:
            fh.write("b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600
