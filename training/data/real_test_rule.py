"""The held-out rule for real chat, fixed and in one place.

A chit-chat conversation whose corpus key (the UUID after ``chitchat-``) has a sha256 hex digest
starting with ``0`` or ``1`` belongs to **real-test** (881 of the corpus's 7,168 conversations).
It is never used for training, validation, early stopping, calibration or threshold selection;
reports measure false alerts on it, and grafted positives built from its openings measure recall on
grooming written in real people's register. The rule depends on the key alone, so it cannot drift
with file order, sampling or seeds, and every consumer can re-check it:
`groomguard train` refuses a training or validation file that contains a real-test conversation
(or a conversation grafted onto a real-test opening).

Ids: real conversations are ``chitchat-<key>``; a grafted positive built on one is
``chitchat-<key>/graft-<n>`` (``/graft-b<n>`` for a benign graft), so its origin key survives
every copy of the data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from groomguard.errors import DataError
from groomguard.evaluation.real_chat import is_real_benign
from groomguard.schema import Conversation
from groomguard.training.loaders.chitchat import ID_PREFIX

REAL_TEST_DIGEST_PREFIXES = ("0", "1")
GRAFT_SEP = "/graft-"

__all__ = ["GRAFT_SEP", "REAL_TEST_DIGEST_PREFIXES", "assert_not_real_test", "corpus_key", "graft_id",
           "is_real_benign", "is_real_test", "is_real_test_key"]


def corpus_key(conversation_id: str) -> str | None:
    """The chit-chat corpus key behind a conversation id, or None for other sources."""
    if not conversation_id.startswith(ID_PREFIX):
        return None
    return conversation_id[len(ID_PREFIX):].split(GRAFT_SEP, 1)[0]


def is_real_test_key(key: str) -> bool:
    return hashlib.sha256(key.encode("utf-8")).hexdigest().startswith(REAL_TEST_DIGEST_PREFIXES)


def is_real_test(conv: Conversation) -> bool:
    """True when the conversation is, or was grafted onto, a real-test conversation."""
    key = corpus_key(conv.conversation_id)
    return key is not None and is_real_test_key(key)


def graft_id(key_conversation_id: str, n: int, benign: bool = False) -> str:
    return f"{key_conversation_id}{GRAFT_SEP}{'b' if benign else ''}{n}"


def assert_not_real_test(convs: Iterable[Conversation], where: str) -> None:
    """Refuse data that would put real-test conversations into training, tuning or calibration."""
    bad = [c.conversation_id for c in convs if is_real_test(c)]
    if bad:
        raise DataError(
            f"{where}: {len(bad)} conversation(s) come from the held-out real-test part of the chit-chat corpus "
            f"(first: {bad[0]}); real-test is never trained, tuned or calibrated on — rebuild the split with "
            "`groomguard data mix`"
        )
