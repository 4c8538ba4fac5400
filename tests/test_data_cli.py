"""`groomguard data stats|convert|split` end to end, as an analyst runs them (real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation, Message

F = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def gg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "groomguard", "data", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_help_lists_commands() -> None:
    r = gg("--help")
    assert r.returncode == 0
    for name in ("stats", "convert", "split"):
        assert name in r.stdout


def test_usage_errors_are_one_line_not_tracebacks() -> None:
    """Unknown option / missing required option: exit 2 with click's usage message, no traceback."""
    for args in (("stats", "--input", F / "conversations.jsonl", "--bogus"), ("split", "-o", "var/x")):
        r = gg(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and "Error:" in r.stderr, r.stderr


def test_stats_json_pan12() -> None:
    r = gg("stats", "-i", F / "pan12.xml", "--predators", F / "pan12_predators.txt", "-o", "-")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (s["conversations"], s["messages"], s["authors"]) == (3, 8, 5)
    assert s["labels"] == {"0": 2, "1": 1, "unlabelled": 0} and s["predator_authors"] == 1
    assert s["messages_per_conversation"]["max"] == 5 and s["messages_per_conversation"]["min"] == 1
    assert s["chars_per_message"]["min"] == 0 and s["empty_messages"] == 2
    assert s["sources"] == {"pan12": 3} and s["input"]["format"] == "pan12"


def test_stats_table_never_prints_handles() -> None:
    r = gg("stats", "-i", F / "conversations.jsonl")
    assert r.returncode == 0, r.stderr
    assert "conversations" in r.stdout and "age_question" in r.stdout  # tags table
    for handle in ("amber_k", "gamer77", "kid_r"):
        assert handle not in r.stdout + r.stderr


def test_convert_pan12_to_canonical_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "pan12.jsonl"
    r = gg("convert", "-i", F / "pan12.xml", "--predators", F / "pan12_predators.txt",
           "--problem2", F / "pan12_problem2.txt", "-o", out)
    assert r.returncode == 0, r.stderr
    convs = list(iter_jsonl(out))
    assert [(c.label, c.first_risk_index) for c in convs] == [(0, None), (1, 2), (0, None)]
    assert "wrote 3 conversations" in r.stderr


def test_convert_strict_error_is_one_line_and_leaves_no_output(tmp_path: Path) -> None:
    out = tmp_path / "bad.jsonl"
    r = gg("convert", "-i", F / "messages_bad.csv", "-o", out)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == f"error: {F / 'messages_bad.csv'}: row 3: author: missing author"
    assert "Traceback" not in r.stderr and "SECRET-TEXT" not in r.stderr
    assert not out.exists() and not (tmp_path / "bad.jsonl.tmp").exists()
    r = gg("convert", "-i", F / "messages_bad.csv", "-o", out, "--lenient")
    assert r.returncode == 0 and "skipped 3 malformed record(s)" in r.stderr
    assert len(list(iter_jsonl(out))) == 4


def test_convert_csv_with_column_overrides(tmp_path: Path) -> None:
    out = tmp_path / "t.jsonl"
    sets = ["csv.columns.conversation_id=chat", "csv.columns.author=user", "csv.columns.text=body",
            "csv.columns.label=is_grooming"]
    r = gg("convert", "-i", F / "messages_custom.tsv", "-o", out, *(x for s in sets for x in ("--set", s)))
    assert r.returncode == 0, r.stderr
    assert [c.label for c in iter_jsonl(out)] == [0, 1]


def test_split_cli_writes_files_and_manifest(tmp_path: Path) -> None:
    convs = [Conversation(conversation_id=f"c{i}", label=int(i % 4 == 0), messages=[
        Message(author=f"a{i}", text="synthetic hi"), Message(author=f"b{i}", text="synthetic hey")])
        for i in range(40)]
    write_jsonl(tmp_path / "in.jsonl", convs)
    out = tmp_path / "demo"
    r = gg("split", "--input", tmp_path / "in.jsonl", "-o", out, "--by", "author", "--seed", "7",
           "--ratios", "0.5,0.25,0.25")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["author_check"]["disjoint"] is True
    assert [summary["splits"][s]["conversations"] for s in ("train", "val", "test")] == [20, 10, 10]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["ratios"] == {"train": 0.5, "val": 0.25, "test": 0.25} and manifest["seed"] == 7
    assert all((out / f"{s}.jsonl").is_file() for s in ("train", "val", "test"))


def test_split_cli_errors(tmp_path: Path) -> None:
    convs = [Conversation(conversation_id=f"c{i}", messages=[Message(author="u1", text="synthetic")])
             for i in range(5)]
    write_jsonl(tmp_path / "synth.jsonl", convs)
    r = gg("split", "--input", tmp_path / "synth.jsonl", "-o", tmp_path / "o")
    assert r.returncode == 2 and "use `--by conversation`" in r.stderr
    r = gg("split", "--input", tmp_path / "synth.jsonl", "-o", tmp_path / "o", "--ratios", "0.5,0.5,0.5")
    assert r.returncode == 2 and "ratios must sum to 1" in r.stderr
    r = gg("split", "--input", tmp_path / "nope.jsonl", "-o", tmp_path / "o")
    assert r.returncode == 2 and "--input" in r.stderr and "no such file" in r.stderr
