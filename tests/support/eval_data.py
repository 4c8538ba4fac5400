"""Small hand-made labelled conversations for evaluation tests (SYNTHETIC, tactic-level text only)."""

from __future__ import annotations

import random
from pathlib import Path

from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message

BENIGN = [
    "did you finish the maths homework", "yeah the last question was hard", "want to play the new map later",
    "sure after dinner", "the football match was great yesterday", "our team scored twice",
    "what music are you listening to", "some old rock songs my dad likes", "the science project is due friday",
    "let's split the poster work", "my cat knocked over the plant again", "haha send my regards to the cat",
]
OPENERS = ["hey there", "hi, nice profile", "you play this game a lot", "cool username"]
TACTICS = [
    "how old are you", "where do you live", "you're so mature for your age", "are your parents home",
    "don't tell anyone about our chats", "this is our secret ok", "i'll buy you a gift card",
    "add me on snapchat instead", "let's move to a private chat", "send me a pic of you",
    "we should meet up some time", "delete the chat after",
]
REPLIES = ["ok", "i guess", "why", "maybe", "lol", "idk", "sure"]


def make_conversations(n: int, seed: int = 0, positive_share: float = 0.4) -> list[Conversation]:
    rng = random.Random(seed)
    convs = []
    for i in range(n):
        a, b = f"user{i}a", f"user{i}b"
        grooming = rng.random() < positive_share
        msgs: list[Message] = []
        length = rng.randint(4, 14)
        first_risk = None
        for j in range(length):
            speaker = a if j % 2 == 0 else b
            if grooming and speaker == a and j >= 2 and rng.random() < 0.7:
                text = rng.choice(TACTICS)
                first_risk = j if first_risk is None else first_risk
            elif grooming and j == 0:
                text = rng.choice(OPENERS)
            elif grooming and speaker == b:
                text = rng.choice(REPLIES)
            else:
                text = rng.choice(BENIGN)
            msgs.append(Message(author=speaker, text=text))
        label = 1 if grooming and first_risk is not None else 0
        tags = ["hard-negative"] if not label and rng.random() < 0.2 else []
        convs.append(Conversation(
            conversation_id=f"syn-{i}", messages=msgs, label=label, predator_ids=[a] if label else [],
            first_risk_index=first_risk if label else None, source="synthetic", lang="en" if i % 5 else "de",
            tags=tags,
        ))
    return convs


def write_labelled(path: Path, n: int, seed: int = 0) -> Path:
    write_jsonl(path, make_conversations(n, seed))
    return path
