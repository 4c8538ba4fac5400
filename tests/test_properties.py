"""Property tests (Hypothesis) of the loaders and of windowing.

Loaders (JSONL, CSV, PAN12 XML): whatever bytes a file holds, loading either yields conversations
or raises a `DataError` naming the file (and, for line formats, the line or row) - never another
exception. Well-formed files load to exactly the conversations written (counted independently).

Windowing: for any conversation, every window fits `max_length`, is wrapped in the tokenizer's
special tokens, ends with the newest message, and holds exactly the longest run of older messages
that fits - checked against a second, deliberately naive implementation (re-join and measure).

Bounded (a few dozen examples each) and derandomized so `make test` is deterministic. Synthetic,
harmless text only.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groomguard.errors import DataError
from groomguard.schema import Conversation, Message
from groomguard.training.loaders import load
from groomguard.windowing import WindowConfig, Windower

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
DAMAGE = settings(SETTINGS, max_examples=150)  # damaged files: more tries, each is cheap
WORDS = st.sampled_from(["hi", "homework", "friday", "page", "40", "ok", "lol", "match", "gg", "école",
                         "😀", "naïve", "l33t", "s p a c e d", "", "  ", "tab\there", "new\nline", "ab,cd", '"q"'])
TEXT = st.lists(WORDS, max_size=8).map(" ".join)
IDS = st.text(alphabet="abcdefghij0123456789-_.", min_size=1, max_size=12)
# Anything a damaged or foreign file may hold: random bytes, BOMs, NULs, CRLF, invalid UTF-8.
JUNK = st.one_of(st.binary(max_size=200), st.sampled_from([b"\xef\xbb\xbf", b"\x00", b"\r\n", b"\xff\xfe", b"\xc3("]))


def messages() -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(st.fixed_dictionaries({"author": IDS, "text": TEXT}), min_size=1, max_size=6)


def conversations() -> st.SearchStrategy[list[dict[str, Any]]]:
    convs = st.lists(st.fixed_dictionaries({"conversation_id": IDS, "messages": messages()}), min_size=1, max_size=5)
    return convs.map(lambda cs: [{**c, "conversation_id": f"{i}-{c['conversation_id']}"} for i, c in enumerate(cs)])


def load_bytes(data: bytes, suffix: str, fmt: str) -> tuple[list[Conversation] | None, DataError | None, str]:
    """Load `data` from a temporary file: (conversations, None) or (None, the DataError)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        try:
            return list(load(path, fmt)), None, str(path)
        except DataError as exc:
            return None, exc, str(path)


def mutate(data: bytes, junk: bytes, at: int, cut: bool) -> bytes:
    at = at % (len(data) + 1)
    return data[:at] + junk + (b"" if cut else data[at:])


# -- JSONL ----------------------------------------------------------------------------------------
def jsonl_bytes(convs: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs).encode("utf-8")


@SETTINGS
@given(conversations(), st.booleans())
def test_jsonl_well_formed_loads_exactly(convs: list[dict[str, Any]], bom: bool) -> None:
    loaded, err, _ = load_bytes((b"\xef\xbb\xbf" if bom else b"") + jsonl_bytes(convs), ".jsonl", "jsonl")
    assert err is None, err
    assert loaded is not None
    assert [(c.conversation_id, [(m.author, m.text) for m in c.messages]) for c in loaded] == \
        [(c["conversation_id"], [(m["author"], m["text"]) for m in c["messages"]]) for c in convs]


@DAMAGE
@given(conversations(), JUNK, st.integers(min_value=0), st.booleans())
def test_jsonl_damaged_is_data_error_naming_file_and_line(convs: list[dict[str, Any]], junk: bytes, at: int,
                                                           cut: bool) -> None:
    _, err, path = load_bytes(mutate(jsonl_bytes(convs), junk, at, cut), ".jsonl", "jsonl")
    if err is not None:
        assert re.match(re.escape(path) + r":\d+: ", str(err)), str(err)


# -- CSV ------------------------------------------------------------------------------------------
def csv_bytes(convs: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["conversation_id", "author", "text"])
    for c in convs:
        for m in c["messages"]:
            w.writerow([c["conversation_id"], m["author"], m["text"]])
    return out.getvalue().encode("utf-8")


@SETTINGS
@given(conversations())
def test_csv_well_formed_loads_exactly(convs: list[dict[str, Any]]) -> None:
    loaded, err, _ = load_bytes(csv_bytes(convs), ".csv", "csv")
    assert err is None, err
    assert loaded is not None
    # CSV cannot tell an empty text from a missing one; both load as "" (the row is still a message)
    assert [(c.conversation_id, [(m.author, m.text.strip()) for m in c.messages]) for c in loaded] == \
        [(c["conversation_id"], [(m["author"], m["text"].strip()) for m in c["messages"]]) for c in convs]


@DAMAGE
@given(conversations(), JUNK, st.integers(min_value=0), st.booleans())
def test_csv_damaged_is_data_error_naming_the_file(convs: list[dict[str, Any]], junk: bytes, at: int,
                                                   cut: bool) -> None:
    _, err, path = load_bytes(mutate(csv_bytes(convs), junk, at, cut), ".csv", "csv")
    if err is not None:
        assert str(err).startswith(f"{path}: "), str(err)


# -- PAN12 XML ------------------------------------------------------------------------------------
def pan12_bytes(convs: list[dict[str, Any]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<conversations>\n']
    for c in convs:
        parts.append(f"<conversation id={quoteattr(c['conversation_id'])}>\n")
        for i, m in enumerate(c["messages"], start=1):
            parts.append(f'<message line="{i}"><author>{escape(m["author"])}</author><time>18:02</time>'
                         f"<text>{escape(escape(m['text']))}</text></message>\n")  # PAN12 escapes twice
        parts.append("</conversation>\n")
    parts.append("</conversations>\n")
    return "".join(parts).encode("utf-8")


@SETTINGS
@given(conversations())
def test_pan12_well_formed_loads_exactly(convs: list[dict[str, Any]]) -> None:
    loaded, err, _ = load_bytes(pan12_bytes(convs), ".xml", "pan12")
    assert err is None, err
    assert loaded is not None
    assert [(c.conversation_id, [m.author for m in c.messages]) for c in loaded] == \
        [(c["conversation_id"], [m["author"] for m in c["messages"]]) for c in convs]


@DAMAGE
@given(conversations(), JUNK, st.integers(min_value=0), st.booleans())
def test_pan12_damaged_is_data_error_naming_the_file(convs: list[dict[str, Any]], junk: bytes, at: int,
                                                     cut: bool) -> None:
    _, err, path = load_bytes(mutate(pan12_bytes(convs), junk, at, cut), ".xml", "pan12")
    if err is not None:
        assert str(err).startswith(f"{path}"), str(err)


# -- windowing ------------------------------------------------------------------------------------
def naive_window(w: Windower, ids: list[list[int]], end: int) -> list[int]:
    """Second implementation: try every start from `end` backwards, keep the longest that fits."""
    best = list(w.prefix) + list(ids[end])[: w.budget] + list(w.suffix)
    for start in range(end - 1, -1, -1):
        body: list[int] = []
        for i in range(start, end + 1):
            body += list(ids[i]) + (list(w.sep) if i < end else [])
        if len(body) > w.budget:
            break
        best = list(w.prefix) + body + list(w.suffix)
    return best


@pytest.fixture(scope="module")
def windowers(minilm_tokenizer: Any) -> list[Windower]:
    return [Windower(minilm_tokenizer, WindowConfig(max_length=n)) for n in (8, 16, 64)]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["ann", "bo", "cy"]), TEXT), min_size=1, max_size=12),
       st.integers(min_value=0, max_value=2), st.integers(min_value=1, max_value=4))
def test_window_invariants(windowers: list[Windower], msgs: list[tuple[str, str]], which: int, stride: int) -> None:
    w = windowers[which]
    conv = Conversation(conversation_id="p", messages=[Message(author=a, text=t) for a, t in msgs])
    ids = w.encode_messages(conv.messages)
    windows = w.prefix_windows(conv, stride=stride)
    n = len(msgs)
    assert [win.end for win in windows] == sorted({*range(stride - 1, n, stride), n - 1})
    for win in windows:
        tokens = win.input_ids
        assert len(tokens) <= w.config.max_length
        assert tokens[: len(w.prefix)] == w.prefix and tokens[len(tokens) - len(w.suffix):] == w.suffix
        newest = ids[win.end][: w.budget]
        body = tokens[len(w.prefix): len(tokens) - len(w.suffix)]
        assert body[len(body) - len(newest):] == newest  # the newest message is present, at the end
        assert tokens == naive_window(w, ids, win.end)
