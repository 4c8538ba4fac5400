"""Pins groomguard/jsonl.py: streaming, `file:line: field: msg` errors, never the message text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, dump_line, iter_jsonl, write_jsonl
from groomguard.schema import Conversation, Message

SECRET = "SECRET-TEXT"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"conversation_id": "ok", "messages": [{"author": "a", "text": "hello"}]})


def test_roundtrip_and_omits_unset(tmp_path: Path) -> None:
    c = Conversation(conversation_id="c1", messages=[Message(author="u", text="hi")], label=1, first_risk_index=0)
    assert json.loads(dump_line(c)) == {"conversation_id": "c1", "messages": [{"author": "u", "text": "hi"}],
                                        "label": 1, "predator_ids": [], "first_risk_index": 0, "tags": []}
    assert write_jsonl(tmp_path / "sub" / "x.jsonl", [c, c]) == 2
    assert list(iter_jsonl(tmp_path / "sub" / "x.jsonl")) == [c, c]


def test_blank_lines_ignored_and_line_numbers_count_them(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.jsonl", [GOOD, "", "   ", '{"conversation_id": "x", "messages": [{"author": "a"}]}'])
    with pytest.raises(DataError) as exc:
        list(iter_jsonl(p))
    assert str(exc.value) == f"{p}:4: messages.0.text: Field required"


def test_invalid_json_names_line_and_column_not_text(tmp_path: Path) -> None:
    broken = '{"conversation_id": "b", "messages": [{"author": "a", "text": "SECRET-TEXT'
    p = _write(tmp_path / "x.jsonl", [GOOD, broken])
    with pytest.raises(DataError) as exc:
        list(iter_jsonl(p))
    msg = str(exc.value)
    assert msg.startswith(f"{p}:2: invalid JSON (") and "column" in msg and SECRET not in msg


def test_validation_error_never_contains_values(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.jsonl", [json.dumps({"conversation_id": "b", "label": SECRET,
                                                   "messages": [{"author": "a", "text": SECRET}]})])
    with pytest.raises(DataError) as exc:
        list(iter_jsonl(p))
    assert str(exc.value).startswith(f"{p}:1: label: ") and SECRET not in str(exc.value)


def test_lenient_skips_and_counts(tmp_path: Path) -> None:
    bad = [json.dumps({"conversation_id": f"b{i}", "messages": []}) for i in range(25)]
    p = _write(tmp_path / "x.jsonl", [GOOD, *bad, GOOD])
    report = ReadReport()
    got = list(iter_jsonl(p, strict=False, report=report))
    assert len(got) == 2 and report.read == 2 and report.skipped == 25
    assert len(report.errors) == 20  # only the first few are kept for display
    assert report.errors[0] == f"{p}:2: messages: List should have at least 1 item after validation, not 0"


def test_streams_lazily(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.jsonl", [GOOD, "not json"])
    it = iter_jsonl(p)
    assert next(it).conversation_id == "ok"  # the broken second line has not been read yet
    with pytest.raises(DataError, match=":2: invalid JSON"):
        next(it)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        list(iter_jsonl(tmp_path / "nope.jsonl"))
