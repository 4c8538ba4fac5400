"""Windows assembled from per-message ids cached one message at a time (the streaming append path)
equal the contract's batch windows, on random conversations with the real MiniLM tokenizer.

The expectation is computed two ways that do not share the assembly code: `Windower.prefix_windows`
on the whole conversation, and a brute force that tokenises the joined window text
("m_k [SEP] ... [SEP] m_i" with the tokenizer's own specials) for the oldest k that still fits.
"""

from __future__ import annotations

import random

import pytest
from tokenizers import Tokenizer

from groomguard.normalise import NormalisationConfig
from groomguard.schema import Conversation, Message
from groomguard.windowing import WindowConfig, Windower, assign_roles, ids_cache_key

WORDS = ["hi", "hello", "how", "old", "r", "u", "school", "ok", "lol", "sure", "snap", "later", "d1sc0rd",
         "ｗｅｅｋｅｎｄ", "don't", "game", "café", "?!", "…", "12", "pics", "mum", "home", "\t", "  "]


def random_conversation(rng: random.Random, n: int, authors: int) -> Conversation:
    msgs = []
    for _ in range(n):
        # mostly short turns, some long enough to overflow a window on their own
        length = rng.choice([0, 1, 2, 3, 5, 8]) if rng.random() < 0.9 else rng.randint(20, 90)
        text = " ".join(rng.choice(WORDS) for _ in range(length))
        msgs.append(Message(author=f"user{rng.randrange(authors)}", text=text))
    return Conversation(conversation_id="r", messages=msgs)


def brute_force_window(w: Windower, rendered: list[str], end: int) -> list[int]:
    """Oldest start whose joined window text still fits max_length, tokenised as one string."""
    sep_text = " ".join(w.tokenizer.id_to_token(t) for t in w.sep)
    alone = w.tokenizer.encode(rendered[end], add_special_tokens=False).ids
    if len(alone) > w.budget:
        return w.prefix + alone[: w.budget] + w.suffix
    best = end
    for k in range(end, -1, -1):
        joined = f" {sep_text} ".join(rendered[k : end + 1])
        if len(w.tokenizer.encode(joined, add_special_tokens=True).ids) > w.config.max_length:
            break
        best = k
    return w.tokenizer.encode(f" {sep_text} ".join(rendered[best : end + 1]), add_special_tokens=True).ids


@pytest.mark.parametrize(("seed", "n", "authors", "max_length"), [
    (0, 40, 2, 16), (1, 60, 3, 32), (2, 30, 30, 64), (3, 400, 4, 128), (4, 25, 2, 10)])
def test_cached_assembly_equals_batch_windows(minilm_tokenizer: Tokenizer, seed: int, n: int, authors: int,
                                              max_length: int) -> None:
    rng = random.Random(seed)
    w = Windower(minilm_tokenizer, WindowConfig(max_length=max_length))
    conv = random_conversation(rng, n, authors)
    batch = w.prefix_windows(conv)
    roles: dict[str, str] = {}
    cache: list[list[int]] = []
    bound = 1 + (w.budget - 1) // (1 + len(w.sep))  # what serving keeps (serving/tail_check.py)
    for i, m in enumerate(conv.messages):
        roles = assign_roles([m], roles)  # the persisted role map, extended one message at a time
        cache.append(w.encode_messages([m], roles)[0])  # only the new message is encoded
        cache = cache[-bound:]
        got = w.assemble_newest(cache)
        assert got == batch[i].input_ids, f"message {i}"
        if i % 7 == 0 or len(conv.messages[i].text) > 60:  # the brute force is slow; sample it
            rendered = w.render_messages(conv.messages[: i + 1], assign_roles(conv.messages))
            assert got == brute_force_window(w, rendered, i), f"message {i}"
    assert len(roles) == len({m.author for m in conv.messages})


def test_ids_key_tracks_normalisation_and_tokenizer(minilm_tokenizer: Tokenizer) -> None:
    base = Windower(minilm_tokenizer, WindowConfig(max_length=64))
    assert base.ids_key == Windower(Tokenizer.from_str(minilm_tokenizer.to_str()), WindowConfig(max_length=128)).ids_key
    assert ids_cache_key(minilm_tokenizer, NormalisationConfig(version=1)) != base.ids_key
    assert ids_cache_key(minilm_tokenizer, NormalisationConfig(deobfuscate=False)) != base.ids_key
    other = Tokenizer.from_str(minilm_tokenizer.to_str())
    other.add_tokens(["groomguardtesttoken"])
    assert ids_cache_key(other, NormalisationConfig()) != base.ids_key
