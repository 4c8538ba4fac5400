"""Surface-form pools: templates with ``[a|b]`` alternations and ``{slot}`` fillers.

A template line is one *surface form family*; its alternations expand combinatorially, and slots are
filled at sampling time from `slots_*` modules. Pools can be asked for half "A" (even template index),
"B" (odd) or "all", which is how the template-disjoint audit keeps train and test phrasing apart.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

PoolHalf = Literal["A", "B", "all"]

_TOKEN = re.compile(r"\[([^\[\]]*)\]|\{([a-z_]+)\}")
_SLOT = re.compile(r"\{([a-z_]+)\}")

# A compiled template: literal strings, alternation tuples, and slot names (as 1-element lists).
Part = str | tuple[str, ...] | list[str]


def compile_template(template: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        if m.group(1) is not None:
            parts.append(tuple(m.group(1).split("|")))
        else:
            parts.append([m.group(2)])
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    return tuple(parts)


def count_forms(template: str) -> int:
    """Distinct surface forms of one template before slot filling (product of alternation sizes)."""
    return math.prod(len(set(p)) for p in compile_template(template) if isinstance(p, tuple))


@dataclass(frozen=True)
class Pool:
    """One tactic's or scenario's phrasing. `name` is also the tag written on conversations."""

    name: str
    templates: tuple[str, ...]
    _compiled: tuple[tuple[Part, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(compile_template(t) for t in self.templates))

    def indices(self, half: PoolHalf) -> list[int]:
        if half == "all" or len(self.templates) < 2:
            return list(range(len(self.templates)))
        start = 0 if half == "A" else 1
        return list(range(start, len(self.templates), 2))

    def n_forms(self, half: PoolHalf = "all") -> int:
        return sum(count_forms(self.templates[i]) for i in self.indices(half))

    def sample(self, rng: random.Random, half: PoolHalf, slots: Mapping[str, Sequence[str]],
               fixed: Mapping[str, str] | None = None) -> str:
        """Draw one realisation; `fixed` pins slot values shared across a conversation (names, game)."""
        idx = self.indices(half)
        parts = self._compiled[idx[rng.randrange(len(idx))]]
        out: list[str] = []
        for p in parts:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, tuple):
                choice = p[rng.randrange(len(p))]
                out.append(_SLOT.sub(lambda m: _fill(rng, m.group(1), slots, fixed), choice) if "{" in choice
                           else choice)
            else:
                out.append(_fill(rng, p[0], slots, fixed))
        return " ".join("".join(out).split())


def _fill(rng: random.Random, name: str, slots: Mapping[str, Sequence[str]], fixed: Mapping[str, str] | None) -> str:
    if fixed is not None and name in fixed:
        return fixed[name]
    values = slots[name]
    return values[rng.randrange(len(values))]


def pools_by_name(pools: Sequence[Pool]) -> dict[str, Pool]:
    return {p.name: p for p in pools}
