"""Windowing: the one function that turns a conversation into model inputs.

Training, evaluation and serving all call `Windower`; nothing else renders or tokenises chat.

- Authors become roles (A, B, C ... by first appearance); handles never reach the model.
- Each message is rendered ``"<role>: <normalised text>"`` and tokenised on its own (no specials).
- A window ending at message i is ``prefix + m_k + sep + ... + sep + m_i + suffix`` where prefix,
  sep and suffix are the tokenizer's own special tokens ([CLS] / [SEP] / [SEP] for BERT) and k is
  the oldest message such that the window fits `max_length` tokens (left truncation: the most
  recent messages win). A newest message longer than the budget alone keeps its first tokens.
- Prefix windows end at every `stride`-th message and always at the last one.
- Per-message ids depend only on the normalisation config and the tokenizer (`Windower.ids_key`),
  so streaming caches them per message and assembles windows from the cache (`assemble_newest`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from tokenizers import Tokenizer

from groomguard.normalise import NormalisationConfig, normalise_text
from groomguard.schema import Conversation, Message


@dataclass(frozen=True)
class WindowConfig:
    """Windowing parameters. They travel in bundle.json so serving uses exactly what training did."""

    max_length: int = 256
    stride: int = 1
    normalisation: NormalisationConfig = field(default_factory=NormalisationConfig)

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8 tokens")
        if self.stride < 1:
            raise ValueError("stride must be at least 1")


@dataclass(frozen=True)
class Window:
    """Token ids of the window ending at message index `end` (inclusive)."""

    end: int
    input_ids: list[int]


def role_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: spreadsheet-style so group chats never run out of roles."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def assign_roles(messages: Sequence[Message], existing: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map author -> role by first appearance, extending `existing` (serving keeps it per conversation)."""
    roles = dict(existing or {})
    for msg in messages:
        if msg.author not in roles:
            roles[msg.author] = role_name(len(roles))
    return roles


def _special_layout(tokenizer: Tokenizer) -> tuple[list[int], list[int]]:
    """Discover the tokenizer's single-sequence prefix and suffix special tokens."""
    plain = tokenizer.encode("x", add_special_tokens=False).ids
    full = tokenizer.encode("x", add_special_tokens=True).ids
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    raise ValueError("cannot locate special tokens in the tokenizer's post-processor output")


def pad_token_id(tokenizer: Tokenizer) -> int:
    """The padding id: the tokenizer's configured padding, else a conventional pad token, else 0."""
    if tokenizer.padding and "pad_id" in tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    for tok in ("[PAD]", "<pad>", "<|pad|>"):
        tid = tokenizer.token_to_id(tok)
        if tid is not None:
            return int(tid)
    return 0


def ids_cache_key(tokenizer: Tokenizer, normalisation: NormalisationConfig) -> str:
    """What per-message ids depend on: normalisation version + options and the tokenizer (sha256 of its
    JSON with truncation and padding off, as `Windower` uses it). Cached ids under another key are stale;
    a `tokenizers` release that serialises differently changes the key too, which only costs one
    re-encoding of the cached rows."""
    digest = hashlib.sha256(tokenizer.to_str().encode()).hexdigest()[:16]
    return f"n{normalisation.version}{'d' if normalisation.deobfuscate else ''}:t{digest}"


class Windower:
    """Renders, tokenises and windows conversations. Stateless apart from the tokenizer."""

    def __init__(self, tokenizer: Tokenizer, config: WindowConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config
        # Truncation/padding configured inside tokenizer.json must not alter per-message ids.
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.prefix, self.suffix = _special_layout(tokenizer)
        self.sep = self.suffix or self.prefix
        self.pad_id = pad_token_id(tokenizer)
        self.budget = config.max_length - len(self.prefix) - len(self.suffix)
        if self.budget < 2:
            raise ValueError("max_length leaves no room for message tokens")

    @cached_property
    def ids_key(self) -> str:
        """Cache key of this windower's per-message ids (computed once, on first use)."""
        return ids_cache_key(self.tokenizer, self.config.normalisation)

    # -- rendering -------------------------------------------------------------------------
    def render_message(self, role: str, text: str) -> str:
        return f"{role}: {normalise_text(text, self.config.normalisation)}"

    def render_messages(self, messages: Sequence[Message], roles: Mapping[str, str]) -> list[str]:
        return [self.render_message(roles[m.author], m.text) for m in messages]

    def encode_messages(self, messages: Sequence[Message], roles: Mapping[str, str] | None = None) -> list[list[int]]:
        """Per-message token ids (no special tokens). Encode once, window many times."""
        roles = roles if roles is not None else assign_roles(messages)
        rendered = self.render_messages(messages, roles)
        return [enc.ids for enc in self.tokenizer.encode_batch(rendered, add_special_tokens=False)]

    # -- windows ---------------------------------------------------------------------------
    def window_ids(self, message_ids: Sequence[Sequence[int]], end: int) -> list[int]:
        """The window ending at message `end` (inclusive) from per-message ids."""
        if not 0 <= end < len(message_ids):
            raise IndexError(f"window end {end} outside 0..{len(message_ids) - 1}")
        start = self.window_start([len(m) for m in message_ids], end)
        ids = list(self.prefix)
        for i in range(start, end):
            ids.extend(message_ids[i])
            ids.extend(self.sep)
        ids.extend(list(message_ids[end])[: self.budget])
        ids.extend(self.suffix)
        return ids

    def assemble_newest(self, message_ids: Sequence[Sequence[int]]) -> list[int]:
        """The window ending at the last message, from per-message ids encoded earlier (possibly one
        message at a time, e.g. cached by streaming under `ids_key` with the persisted role map).

        Equal to `newest_window(messages, roles).input_ids` for the messages those ids came from: ids
        of a message do not depend on its neighbours, and the window is assembled by `window_ids`.
        """
        return self.window_ids(message_ids, len(message_ids) - 1)

    def window_start(self, lengths: Sequence[int], end: int) -> int:
        """Index of the oldest message in the window ending at `end`, from per-message token counts.

        The newest message always counts (cut to the budget); older ones join, newest first, while
        each one plus a separator still fits. The one place this rule lives: `window_ids`, the text
        baselines (evaluation/windows_text.py) and case influence (serving/review/influence.py).
        """
        used = min(lengths[end], self.budget)
        start = end
        for i in range(end - 1, -1, -1):
            cost = lengths[i] + len(self.sep)
            if used + cost > self.budget:
                break
            used += cost
            start = i
        return start

    def window_ends(self, n_messages: int, stride: int | None = None) -> list[int]:
        """Ends of the prefix windows: every `stride`-th message, always including the last."""
        stride = stride or self.config.stride
        ends = list(range(stride - 1, n_messages, stride))
        if not ends or ends[-1] != n_messages - 1:
            ends.append(n_messages - 1)
        return ends

    def prefix_windows(self, conv: Conversation, stride: int | None = None) -> list[Window]:
        """One window per prefix of the conversation (with stride)."""
        ids = self.encode_messages(conv.messages)
        return [Window(end, self.window_ids(ids, end)) for end in self.window_ends(len(ids), stride)]

    def newest_window(self, messages: Sequence[Message], roles: Mapping[str, str] | None = None) -> Window:
        """The window ending at the newest message: what streaming scoring uses."""
        ids = self.encode_messages(messages, roles)
        return Window(len(ids) - 1, self.window_ids(ids, len(ids) - 1))


def window_label(conv: Conversation, end: int) -> int | None:
    """Label of the window ending at `end`: positive only from `first_risk_index` on.

    A grooming conversation without `first_risk_index` labels every window positive (the
    conservative reading of conversation-level labels such as PAN12 problem 1).
    """
    if conv.label is None:
        return None
    if conv.label == 0:
        return 0
    if conv.first_risk_index is None:
        return 1
    return int(end >= conv.first_risk_index)


@dataclass(frozen=True)
class Batch:
    """Padded model inputs; padded to the longest window in the batch, never to max_length."""

    input_ids: np.ndarray
    attention_mask: np.ndarray


def pad_batch(windows: Sequence[Sequence[int]], pad_id: int) -> Batch:
    """Right-pad windows into int64 arrays (fused attention kernels assume right padding)."""
    if not windows:
        raise ValueError("cannot pad an empty batch")
    width = max(len(w) for w in windows)
    ids = np.full((len(windows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(windows), width), dtype=np.int64)
    for row, w in enumerate(windows):
        ids[row, : len(w)] = w
        mask[row, : len(w)] = 1
    return Batch(ids, mask)
