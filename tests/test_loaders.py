"""Loaders: every format into canonical conversations, strict/lenient errors without message text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomguard.errors import DataError
from groomguard.jsonl import ReadReport
from groomguard.training.loaders import DataConfig, guess_format, load, load_data_config

F = Path(__file__).parent / "fixtures"
SECRET = "SECRET-TEXT"  # every broken fixture row carries this; it must never reach an error message


def _lenient(path: Path, **kw: object) -> tuple[list[str], ReadReport]:
    report = ReadReport()
    ids = [c.conversation_id for c in load(path, strict=False, report=report, **kw)]  # type: ignore[arg-type]
    assert all(SECRET not in e for e in report.errors)
    return ids, report


# -- JSONL -----------------------------------------------------------------------------------
def test_jsonl_reads_fixture() -> None:
    convs = list(load(F / "conversations.jsonl"))
    assert [c.conversation_id for c in convs] == ["j-1", "j-2", "j-3"]
    assert convs[1].first_risk_index == 2 and convs[1].predator_ids == ["gamer77"]


def test_jsonl_strict_and_lenient() -> None:
    with pytest.raises(DataError) as exc:
        list(load(F / "conversations_bad.jsonl"))
    assert str(exc.value).startswith(f"{F / 'conversations_bad.jsonl'}:2: invalid JSON")
    ids, report = _lenient(F / "conversations_bad.jsonl")
    assert ids == ["ok-1", "ok-2"] and report.skipped == 3
    assert ":3: messages: Field required" in report.errors[1]
    assert ":4: label:" in report.errors[2]


# -- CSV -------------------------------------------------------------------------------------
def test_csv_groups_contiguous_rows() -> None:
    convs = list(load(F / "messages.csv"))
    assert [c.conversation_id for c in convs] == ["c-1", "c-2", "c-3"]
    c1, c2, c3 = convs
    assert [m.author for m in c1.messages] == ["amber_k", "leo.b", "amber_k"]
    assert c1.messages[0].timestamp is not None and c1.messages[2].timestamp is None
    assert c1.messages[1].text == "almost, question 4 is hard" and c1.messages[0].message_id == "m1"
    assert (c1.label, c2.label, c3.label) == (0, 1, None)
    assert c2.predator_ids == ["gamer77"] and c1.predator_ids == []
    assert c3.messages[1].text == 'thanks, where do I post "hello"?'
    assert {c.source for c in convs} == {"synthetic"} and {c.lang for c in convs} == {"en"}


def test_csv_custom_columns_tsv() -> None:
    cfg = load_data_config(overrides=["csv.columns.conversation_id=chat", "csv.columns.author=user",
                                      "csv.columns.text=body", "csv.columns.label=is_grooming"])
    convs = list(load(F / "messages_custom.tsv", config=cfg))
    assert [(c.conversation_id, c.label, len(c.messages)) for c in convs] == [("t-1", 0, 2), ("t-2", 1, 2)]
    with pytest.raises(DataError, match=r"header: missing required column\(s\) conversation_id, author, text"):
        list(load(F / "messages_custom.tsv"))


def test_csv_interleaved_rows_need_contiguous_false() -> None:
    with pytest.raises(DataError, match=r"messages_interleaved.csv: row 3: conversation_id: .*not contiguous"):
        list(load(F / "messages_interleaved.csv"))
    cfg = load_data_config(overrides=["csv.contiguous=false"])
    convs = list(load(F / "messages_interleaved.csv", config=cfg))
    assert [(c.conversation_id, [m.author for m in c.messages]) for c in convs] == [
        ("c-a", ["u1", "u2"]), ("c-b", ["u3", "u4"])]


def test_csv_errors_name_row_and_field_never_text() -> None:
    with pytest.raises(DataError) as exc:
        list(load(F / "messages_bad.csv"))
    assert str(exc.value) == f"{F / 'messages_bad.csv'}: row 3: author: missing author"
    ids, report = _lenient(F / "messages_bad.csv")
    assert ids == ["c-ok", "c-ok2", "c-ok3", "c-ok4"]
    assert report.read == 4 and report.skipped == 3
    assert [e.split(": ", 1)[1] for e in report.errors] == [
        "row 3: author: missing author", "row 5: label: expected 0 or 1", "row 7: row has fewer cells than the header"]


def test_csv_bad_timestamp_names_message_field(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("conversation_id,author,text,timestamp\nc,u,SECRET-TEXT,not-a-time\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.csv: row 1: messages.0.timestamp: ") as exc:
        list(load(p))
    assert SECRET not in str(exc.value) and "not-a-time" not in str(exc.value)


# -- PAN12 -----------------------------------------------------------------------------------
def test_pan12_labels_problem2_entities() -> None:
    convs = list(load(F / "pan12.xml", predators=F / "pan12_predators.txt", problem2=F / "pan12_problem2.txt"))
    a, b, c = convs
    assert [x.conversation_id for x in convs] == ["c0ffee01", "c0ffee02", "c0ffee03"]
    assert {x.source for x in convs} == {"pan12"}
    assert a.messages[0].text == "did u see the game <3"  # &amp;lt; unescaped twice
    assert a.messages[1].text == "yes it's great"
    assert (a.label, b.label, c.label) == (0, 1, 0)
    assert b.predator_ids == ["a3f0"] and a.predator_ids == []
    assert b.first_risk_index == 2  # lines 3 and 4 marked -> earliest is the 3rd message
    assert a.first_risk_index is None
    assert b.messages[2].text == "how old are you? you seem mature & smart"
    assert b.messages[4].text == "" and c.messages[0].text == ""  # empty and missing <text>
    assert [m.message_id for m in b.messages] == ["1", "2", "3", "4", "5"]
    assert all(m.timestamp is None for x in convs for m in x.messages)  # HH:MM only: no timestamp


def test_pan12_without_predators_is_unlabelled() -> None:
    assert {c.label for c in load(F / "pan12.xml")} == {None}


def test_pan12_bad_author_strict_lenient() -> None:
    with pytest.raises(DataError) as exc:
        list(load(F / "pan12_bad_author.xml"))
    assert str(exc.value) == f"{F / 'pan12_bad_author.xml'}:12: author: missing or empty"
    ids, report = _lenient(F / "pan12_bad_author.xml")
    assert ids == ["ok01", "ok03"] and report.skipped == 1


def test_pan12_malformed_is_fatal_even_lenient() -> None:
    for strict in (True, False):
        with pytest.raises(DataError, match=r"pan12_malformed.xml:6: xml: not well-formed \(mismatched tag") as exc:
            list(load(F / "pan12_malformed.xml", strict=strict))
        assert SECRET not in str(exc.value)


def test_pan12_aux_files_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p2.txt"
    bad.write_text("c1\t3\nc2 three\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"p2.txt:2: expected"):
        load(F / "pan12.xml", problem2=bad)
    with pytest.raises(DataError, match="predator-ids file not found"):
        load(F / "pan12.xml", predators=tmp_path / "nope.txt")
    with pytest.raises(DataError, match="pan12 format only"):
        load(F / "messages.csv", predators=F / "pan12_predators.txt")


# -- Hugging Face datasets -------------------------------------------------------------------
def _jsonl_rows() -> list[dict]:
    """Fixture rows with every key present (Dataset.from_list takes its columns from the first row)."""
    rows = [json.loads(line) for line in (F / "conversations.jsonl").read_text(encoding="utf-8").splitlines()]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    msg_keys = ("author", "text", "timestamp", "message_id")
    for r in rows:
        r["messages"] = [{k: m.get(k) for k in msg_keys} for m in r["messages"]]
    return [{k: r.get(k) for k in keys} for r in rows]


def test_hf_nested_dataset(tmp_path: Path) -> None:
    from datasets import Dataset

    Dataset.from_list(_jsonl_rows()).save_to_disk(str(tmp_path / "ds"))
    assert guess_format(tmp_path / "ds") == "hf"
    got = list(load(tmp_path / "ds"))
    want = list(load(F / "conversations.jsonl"))
    assert [c.model_dump() for c in got] == [c.model_dump() for c in want]


def test_hf_flat_dataset_dict_and_errors(tmp_path: Path) -> None:
    import csv

    from datasets import Dataset, DatasetDict

    with (F / "messages.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["label"] = int(r["label"]) if r["label"] else None  # typed column, as a real dataset would be
    DatasetDict({"train": Dataset.from_list(rows[:7]), "test": Dataset.from_list(rows[7:])}).save_to_disk(
        str(tmp_path / "dd"))
    convs = list(load(tmp_path / "dd"))  # splits in name order: test, train
    assert [c.conversation_id for c in convs] == ["c-3", "c-1", "c-2"]
    assert [c.label for c in convs] == [None, 0, 1] and convs[2].predator_ids == ["gamer77"]
    only = list(load(tmp_path / "dd", config=DataConfig(hf_split="train")))
    assert [c.conversation_id for c in only] == ["c-1", "c-2"]
    with pytest.raises(DataError, match="no split 'dev'"):
        list(load(tmp_path / "dd", config=DataConfig(hf_split="dev")))
    rows[1]["author"] = ""
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "bad"))
    with pytest.raises(DataError, match=r"bad: row 2: author: missing author"):
        list(load(tmp_path / "bad"))


def test_hf_nested_errors_name_row(tmp_path: Path) -> None:
    from datasets import Dataset

    rows = _jsonl_rows()
    rows[1]["first_risk_index"] = 99
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(DataError, match=r"ds: row 2: \(record\): Value error, first_risk_index 99"):
        list(load(tmp_path / "ds"))
    ids, report = _lenient(tmp_path / "ds")
    assert ids == ["j-1", "j-3"] and report.skipped == 1


# -- dispatcher ------------------------------------------------------------------------------
def test_guess_format(tmp_path: Path) -> None:
    assert guess_format(F / "conversations.jsonl") == "jsonl"
    assert guess_format(F / "messages.csv") == "csv" and guess_format(F / "messages_custom.tsv") == "csv"
    assert guess_format(F / "pan12.xml") == "pan12"
    (tmp_path / "x.dat").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="pass --format"):
        guess_format(tmp_path / "x.dat")
    with pytest.raises(DataError, match="not a Hugging Face dataset"):
        guess_format(tmp_path)
    with pytest.raises(DataError, match="unknown format 'parquet'"):
        load(F / "messages.csv", "parquet")


def test_explicit_format_overrides_suffix(tmp_path: Path) -> None:
    p = tmp_path / "export.txt"
    p.write_bytes((F / "messages.csv").read_bytes())
    assert len(list(load(p, "csv"))) == 3
