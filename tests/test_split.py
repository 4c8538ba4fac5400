"""Author-disjoint, stratified, deterministic splits with a verifiable manifest."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.training.data.split import Record, UnionFind, assign, components, split_dataset
from groomguard.training.loaders import load
from groomguard.training.loaders.config import Ratios


def _corpus(path: Path, n: int = 200, seed: int = 0, shared_every: int = 10) -> Path:
    """Synthetic corpus: unique handles, a predator who talks to several users, some chains."""
    rng = random.Random(seed)
    convs = []
    for i in range(n):
        a, b = f"user{i}a", f"user{i}b"
        if i % shared_every == 1:
            b = f"user{i - 1}b"  # chain two conversations through a shared author
        label = int(rng.random() < 0.25)
        if label and i % 7 == 0:
            a = "predator_x"  # one predator in several conversations
        msgs = [Message(author=a if k % 2 == 0 else b, text=f"synthetic message {k}") for k in range(3)]
        convs.append(Conversation(conversation_id=f"s-{i}", messages=msgs, label=label,
                                  predator_ids=[a] if label else [], source="synthetic"))
    write_jsonl(path, convs)
    return path


def _split(inp: Path, out: Path, **kw: object) -> dict:
    args: dict = {"by": "author", "ratios": Ratios(), "seed": 7} | kw
    return split_dataset(lambda: load(inp), inp, out, **args)


def test_union_find_components() -> None:
    uf = UnionFind()
    for _ in range(4):
        uf.add()
    uf.union(0, 2)
    uf.union(2, 3)
    assert uf.find(3) == uf.find(0) != uf.find(1)
    recs = [Record(("a", "b"), 0), Record(("c",), 1), Record(("b", "d"), 0), Record(("d", "e"), None)]
    assert sorted(map(sorted, components(recs, "author"))) == [[0, 2, 3], [1]]
    assert components(recs, "conversation") == [[0], [1], [2], [3]]


def test_assign_stratifies_and_respects_ratios() -> None:
    recs = [Record((f"u{i}",), int(i < 20)) for i in range(100)]
    groups = components(recs, "author")
    split = assign(recs, groups, Ratios(train=0.6, val=0.2, test=0.2), seed=3)
    for label, total in ((1, 20), (0, 80)):
        per = [sum(1 for i, s in enumerate(split) if s == k and recs[i].label == label) for k in range(3)]
        assert per == [int(0.6 * total), int(0.2 * total), int(0.2 * total)]
    zero_val = assign(recs, groups, Ratios(train=0.9, val=0.0, test=0.1), seed=3)
    assert 1 not in zero_val


def test_author_split_is_disjoint_and_manifest_is_true(tmp_path: Path) -> None:
    inp = _corpus(tmp_path / "in.jsonl")
    m = _split(inp, tmp_path / "out")
    sides = {}
    for name in ("train", "val", "test"):
        path = tmp_path / "out" / f"{name}.jsonl"
        convs = list(iter_jsonl(path))
        sides[name] = {a for c in convs for a in c.authors}
        assert m["splits"][name]["conversations"] == len(convs)
        assert m["splits"][name]["labels"]["1"] == sum(c.label == 1 for c in convs)
        assert m["splits"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not (sides["train"] & sides["val"])
    assert not (sides["train"] & sides["test"])
    assert not (sides["val"] & sides["test"])
    assert m["author_check"] == {"disjoint": True, "shared_authors": 0}
    assert sum(s["conversations"] for s in m["splits"].values()) == 200
    assert m["input"]["sha256"] == hashlib.sha256(inp.read_bytes()).hexdigest()
    assert (m["seed"], m["by"], m["ratios"]) == (7, "author", {"train": 0.8, "val": 0.1, "test": 0.1})
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == m
    # every split has positives (stratified) and the shares are near the ratios
    assert all(s["labels"]["1"] > 0 for s in m["splits"].values())
    assert 140 <= m["splits"]["train"]["conversations"] <= 180


def test_seeded_and_deterministic(tmp_path: Path) -> None:
    inp = _corpus(tmp_path / "in.jsonl")
    a = _split(inp, tmp_path / "a")
    b = _split(inp, tmp_path / "b")
    c = _split(inp, tmp_path / "c", seed=8)
    shas = lambda m: [m["splits"][s]["sha256"] for s in ("train", "val", "test")]  # noqa: E731
    assert shas(a) == shas(b)
    assert shas(a) != shas(c)


def test_reused_handles_fail_with_advice(tmp_path: Path) -> None:
    convs = [Conversation(conversation_id=f"c{i}", label=i % 2, messages=[
        Message(author="u1", text="synthetic hi"), Message(author="u2", text="synthetic hello")]) for i in range(20)]
    write_jsonl(tmp_path / "synth.jsonl", convs)
    with pytest.raises(DataError, match=r"20 of 20 conversations are connected .* use `--by conversation`"):
        _split(tmp_path / "synth.jsonl", tmp_path / "out")
    m = _split(tmp_path / "synth.jsonl", tmp_path / "out", by="conversation")
    assert m["author_check"] == {"disjoint": False, "shared_authors": 2}
    assert [m["splits"][s]["conversations"] for s in ("train", "val", "test")] == [16, 2, 2]


def test_ratios_validation() -> None:
    assert Ratios.parse("0.7, 0.15, 0.15").as_dict() == {"train": 0.7, "val": 0.15, "test": 0.15}
    with pytest.raises(ValueError, match="sum to 1"):
        Ratios.parse("0.8,0.1,0.2")
    with pytest.raises(ValueError, match="three numbers"):
        Ratios.parse("0.8,0.2")
