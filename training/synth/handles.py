"""Author handles: drawn from one distribution for every role, unique across a whole corpus.

The author-disjoint train/test split relies on a handle never being reused by two conversations.
"""

from __future__ import annotations

import random

from groomguard.training.synth.slots_en import FIRST_NAMES, HANDLE_WORDS


class HandleFactory:
    """Hands out handles that have not been used before in this corpus."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def _draw(self, rng: random.Random) -> str:
        name = rng.choice(FIRST_NAMES)
        word = rng.choice(HANDLE_WORDS)
        digits = str(rng.randrange(10, 100000))
        form = rng.randrange(7)
        if form == 0:
            return f"{name}{digits}"
        if form == 1:
            return f"{word}_{name}{digits[:3]}"
        if form == 2:
            return f"{name}.{word}{digits[:2]}"
        if form == 3:
            return f"xx{word}{name}xx{digits[:2]}"
        if form == 4:
            return f"{word}{word[:1]}{digits}"
        if form == 5:
            return f"the_{name}_{word}{digits[:1]}"
        return f"{name}_{word}_{digits}"

    def new(self, rng: random.Random) -> str:
        while True:
            handle = self._draw(rng)
            if handle not in self._used:
                self._used.add(handle)
                return handle
