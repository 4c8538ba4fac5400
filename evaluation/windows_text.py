"""Render the model's windows as text, so baselines see exactly the messages the model saw.

The window ending at message `end` keeps the most recent messages that fit the bundle's token
budget (groomguard.windowing); `Windower.window_start` gives that message from per-message token
counts, the same rule `Windower.window_ids` uses. The text is the rendered, normalised messages
(``"A: ..."``) joined by newlines; roles replace handles as they do for the model.
"""

from __future__ import annotations

from collections.abc import Sequence

from groomguard.schema import Conversation
from groomguard.windowing import Windower, assign_roles


def conversation_windows(windower: Windower, conv: Conversation, ends: Sequence[int]) -> list[str]:
    """Text of each window ending at `ends`."""
    roles = assign_roles(conv.messages)
    rendered = windower.render_messages(conv.messages, roles)
    lengths = [len(e.ids) for e in windower.tokenizer.encode_batch(rendered, add_special_tokens=False)]
    return ["\n".join(rendered[windower.window_start(lengths, e) : e + 1]) for e in ends]


def sample_ends(ends: Sequence[int], cap: int) -> list[int]:
    """At most `cap` ends, evenly spaced, always keeping the last (the whole-conversation window)."""
    if cap < 1 or len(ends) <= cap:
        return list(ends)
    if cap == 1:
        return [ends[-1]]
    step = (len(ends) - 1) / (cap - 1)
    return sorted({ends[round(i * step)] for i in range(cap)})
