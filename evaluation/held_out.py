"""Held-out files must really be held out: checked by id AND by content.

The real-test rule (training/data/real_test_rule.py) keeps real-test *ids* out of training. A copy of the same
conversation under another id (re-converted with another id scheme, pasted into a verdicts file,
merged from another export) would pass an id check and make "held-out" false alerts a measurement on
training data. So evaluation also compares content: runs of `RUN` consecutive messages (text
case-folded, whitespace collapsed) of at least `MIN_CHARS` characters, hashed. On the demo mix no
run of the 200 real-test conversations (or of the 120 grafted ones) occurs in train or validation,
so the check does not fire on chat that merely shares greetings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from groomguard.errors import DataError
from groomguard.schema import Conversation

RUN = 3  # consecutive messages per content key
MIN_CHARS = 40  # "hi" / "hey" / "how are you" runs are shared by unrelated chats; these are not


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()


def content_keys(conv: Conversation) -> set[str]:
    """Hashes of every run of RUN consecutive messages with >= MIN_CHARS characters of text."""
    texts = [_norm(m.text) for m in conv.messages]
    keys = set()
    for i in range(len(texts) - RUN + 1):
        run = texts[i : i + RUN]
        if sum(len(t) for t in run) >= MIN_CHARS:
            keys.add(hashlib.sha256("\x1f".join(run).encode("utf-8")).hexdigest())
    return keys


def leaked(held_out: Sequence[Conversation], training: Iterable[Conversation]) -> tuple[list[str], list[str]]:
    """(ids also in training, ids whose content shares a message run with training)."""
    train_ids: set[str] = set()
    train_keys: set[str] = set()
    for c in training:
        train_ids.add(c.conversation_id)
        train_keys |= content_keys(c)
    by_id = [c.conversation_id for c in held_out if c.conversation_id in train_ids]
    by_content = [c.conversation_id for c in held_out
                  if c.conversation_id not in train_ids and content_keys(c) & train_keys]
    return by_id, by_content


def assert_held_out(held_out: Sequence[Conversation], training: Iterable[Conversation], path: Path | str,
                    what: str) -> None:
    """Refuse a held-out file that shares conversations with the model's training or validation data."""
    by_id, by_content = leaked(held_out, training)
    if by_id or by_content:
        first = (by_id or by_content)[0]
        raise DataError(f"{path}: {len(by_id) + len(by_content)} of {len(held_out)} {what} conversations also "
                        f"occur in the model's training or validation data ({len(by_id)} by id, {len(by_content)} "
                        f"by content: {RUN} identical consecutive messages; first: {first}); a held-out set must "
                        "not be trained, tuned or calibrated on")
