"""Train/val/test splits with no author on two sides (`groomguard data split`).

`--by author`: conversations that share an author are joined (union-find over authors); each
connected component goes to one split, so no author — in particular no predator — is seen in
training and evaluated on. Components are stratified by label (a component with any positive is
positive) and assigned greedily, largest first, to the split furthest below its target share;
ties and equal sizes are ordered by a seeded shuffle, so a seed gives one split.
`--by conversation`: every conversation is its own component (authors may cross splits; the
manifest says how many do).

The input is streamed twice (plan, then write), holding only authors and labels in between.
If one component holds more than `max_component_fraction` of the conversations, handles are not
globally unique (synthetic "u1" in every chat) and the split fails instead of silently producing a
useless one.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from groomguard.bundle import sha256_file
from groomguard.errors import DataError
from groomguard.jsonl import ReadReport, dump_line
from groomguard.schema import Conversation
from groomguard.training.loaders.config import Ratios

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"


class UnionFind:
    """Disjoint sets over 0..n-1 with path halving and union by size."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []

    def add(self) -> int:
        self.parent.append(len(self.parent))
        self.size.append(1)
        return len(self.parent) - 1

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


@dataclass(frozen=True)
class Record:
    """What the planner keeps per conversation."""

    authors: tuple[str, ...]
    label: int | None


def components(records: list[Record], by: str) -> list[list[int]]:
    """Groups of conversation indices that must land in the same split, in first-seen order."""
    if by == "conversation":
        return [[i] for i in range(len(records))]
    uf = UnionFind()
    author_node: dict[str, int] = {}
    conv_node = []
    for rec in records:
        node = uf.add()
        conv_node.append(node)
        for author in rec.authors:
            other = author_node.setdefault(author, node)
            uf.union(node, other)
    groups: dict[int, list[int]] = {}
    for i, node in enumerate(conv_node):
        groups.setdefault(uf.find(node), []).append(i)
    return list(groups.values())


def _stratum(records: list[Record], group: list[int]) -> str:
    labels = {records[i].label for i in group}
    return "1" if 1 in labels else "0" if 0 in labels else "unlabelled"


def assign(records: list[Record], groups: list[list[int]], ratios: Ratios, seed: int) -> list[int]:
    """Split index (0 train, 1 val, 2 test) per conversation; stratified by label, deterministic."""
    rng = random.Random(seed)
    order = list(range(len(groups)))
    rng.shuffle(order)
    order.sort(key=lambda g: -len(groups[g]))  # stable: the shuffle breaks ties between equal sizes
    shares = [ratios.train, ratios.val, ratios.test]
    usable = [s for s in range(3) if shares[s] > 0]
    result = [0] * len(records)
    overall = [0, 0, 0]  # across strata: breaks ties so rounding in one stratum is repaid in the next
    for stratum in ("1", "0", "unlabelled"):
        members = [g for g in order if _stratum(records, groups[g]) == stratum]
        total = sum(len(groups[g]) for g in members)
        filled = [0, 0, 0]
        for g in members:
            best = max(usable, key=lambda s: (round(shares[s] * total - filled[s], 9),
                                              shares[s] * len(records) - overall[s], shares[s], -s))
            filled[best] += len(groups[g])
            overall[best] += len(groups[g])
            for i in groups[g]:
                result[i] = best
    return result


def input_fingerprint(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names + contents) for HF datasets."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(file.relative_to(path)).encode())
        h.update(bytes.fromhex(sha256_file(file)))
    return h.hexdigest()


ConvSource = Callable[[], Iterator[Conversation]]


def split_dataset(
    source: ConvSource,
    input_path: Path,
    out_dir: Path,
    *,
    by: str,
    ratios: Ratios,
    seed: int,
    max_component_fraction: float = 0.5,
    report: ReadReport | None = None,
    tick: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Plan and write the split; returns the manifest (also written to `out_dir/manifest.json`).

    `source()` must yield the same conversations each time it is called (it is read twice).
    `tick(phase)` is called once per conversation with phase "plan" or "write" (progress bars).
    """
    records: list[Record] = []
    for conv in source():
        records.append(Record(tuple(conv.authors), conv.label))
        if tick:
            tick("plan")
    if not records:
        raise DataError(f"{input_path}: no conversations to split")
    groups = components(records, by)
    largest = max(len(g) for g in groups)
    if by == "author" and len(records) > 1 and largest > max_component_fraction * len(records):
        raise DataError(
            f"{input_path}: {largest} of {len(records)} conversations are connected through shared authors "
            f"(>{max_component_fraction:.0%}); author handles look reused across conversations (e.g. 'u1'), "
            "so an author split is impossible — use `--by conversation`"
        )
    assignment = assign(records, groups, ratios, seed)

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {name: {"conversations": 0, "messages": 0} for name in SPLITS}
    labels = {name: {"0": 0, "1": 0, "unlabelled": 0} for name in SPLITS}
    authors: list[set[str]] = [set(), set(), set()]
    n = 0
    files = [(out_dir / f"{name}.jsonl").open("w", encoding="utf-8") for name in SPLITS]
    try:
        for conv in source():
            if n >= len(records):
                raise DataError(f"{input_path}: input changed while splitting (more conversations on re-read)")
            s = assignment[n]
            n += 1
            files[s].write(dump_line(conv) + "\n")
            counts[SPLITS[s]]["conversations"] += 1
            counts[SPLITS[s]]["messages"] += len(conv.messages)
            labels[SPLITS[s]]["unlabelled" if conv.label is None else str(conv.label)] += 1
            authors[s].update(conv.authors)
            if tick:
                tick("write")
    finally:
        for fh in files:
            fh.close()
    if n != len(records):
        raise DataError(f"{input_path}: input changed while splitting (fewer conversations on re-read)")

    shared = (authors[0] & authors[1]) | (authors[0] & authors[2]) | (authors[1] & authors[2])
    manifest: dict[str, Any] = {
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": {"path": str(input_path), "sha256": input_fingerprint(input_path)},
        "by": by,
        "seed": seed,
        "ratios": ratios.as_dict(),
        "components": len(groups),
        "largest_component": largest,
        "skipped_records": report.skipped if report else 0,
        "splits": {
            name: {**counts[name], "labels": labels[name], "authors": len(authors[i]), "file": f"{name}.jsonl",
                   "sha256": sha256_file(out_dir / f"{name}.jsonl")}
            for i, name in enumerate(SPLITS)
        },
        "author_check": {"disjoint": not shared, "shared_authors": len(shared)},
    }
    if by == "author" and shared:  # cannot happen by construction; refuse rather than ship a leak
        raise DataError(f"{input_path}: internal error: {len(shared)} authors ended up in two splits")
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
