"""The synthetic corpus generator: determinism, schema, labels, uniqueness, content rule, shortcuts."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.training.synth import generate, write_corpus
from groomguard.training.synth.languages import english, french
from groomguard.training.synth.shortcuts import line_shares, shallow_auc

# Mild/clinical terms only: none of these may ever appear in synthetic text (project content rule).
EXPLICIT_TERMS = re.compile(
    r"\b(sex|sexy|sexual\w*|nude|nudes|naked|porn\w*|genital\w*|penis|vagina|breasts?|boobs?|orgasm\w*|"
    r"masturbat\w*|erotic\w*|intercourse|lingerie|underwear|horny|undress\w*|topless|nu|nue|seins|culotte)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def corpus() -> list[Conversation]:
    return generate(1000, seed=11)


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_corpus(a, 80, seed=5)
    write_corpus(b, 80, seed=5)
    write_corpus(c, 80, seed=6)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_written_corpus_is_valid_canonical_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    assert write_corpus(out, 50, seed=3) == 50
    convs = list(iter_jsonl(out, strict=True))
    assert len(convs) == 50
    assert len({c.conversation_id for c in convs}) == 50


def test_every_conversation_is_labelled_and_tagged(corpus: list[Conversation]) -> None:
    tactic_names = set(english().tactics)
    for conv in corpus:
        assert conv.source == "synthetic" and conv.lang in ("en", "fr") and conv.label in (0, 1)
        assert "synthetic" in conv.tags
        assert sum(t.startswith("scenario:") for t in conv.tags) == 1
        assert sum(t.startswith("pacing:") for t in conv.tags) == 1
        for m in conv.messages:
            assert m.text.strip() and m.timestamp is not None and m.message_id
        times = [m.timestamp for m in conv.messages]
        assert times == sorted(times)  # type: ignore[type-var]
        if conv.label == 1:
            assert conv.first_risk_index is not None and len(conv.predator_ids) == 1
            assert conv.messages[conv.first_risk_index].author == conv.predator_ids[0]
            tactics = [t.removeprefix("tactic:") for t in conv.tags if t.startswith("tactic:")]
            assert len(tactics) >= 3 and set(tactics) <= tactic_names
        else:
            assert conv.first_risk_index is None and conv.predator_ids == []
            assert not any(t.startswith("tactic:") for t in conv.tags)


def test_slow_pacing_has_long_ordinary_chat_first(corpus: list[Conversation]) -> None:
    slow = [c for c in corpus if c.label == 1 and "pacing:slow" in c.tags]
    fast = [c for c in corpus if c.label == 1 and "pacing:fast" in c.tags]
    assert slow and fast
    assert min(c.first_risk_index or 0 for c in slow) >= 35  # run-on merges can shorten 40 slightly
    assert sorted(c.first_risk_index or 0 for c in fast)[len(fast) // 2] <= 8


def test_author_handles_are_unique_across_conversations(corpus: list[Conversation]) -> None:
    owners: dict[str, str] = {}
    for conv in corpus:
        for author in conv.authors:
            assert owners.setdefault(author, conv.conversation_id) == conv.conversation_id


def test_class_mix_hard_negatives_french_and_group_chats(corpus: list[Conversation]) -> None:
    neg = [c for c in corpus if c.label == 0]
    pos = [c for c in corpus if c.label == 1]
    assert 0.4 < len(pos) / len(corpus) < 0.6
    assert sum("hard-negative" in c.tags for c in neg) / len(neg) >= 1 / 3
    assert 0.06 < sum(c.lang == "fr" for c in corpus) / len(corpus) < 0.14
    for group in (pos, neg):  # group chats in both classes, not a class cue
        assert 0.07 < sum("group-chat" in c.tags for c in group) / len(group) < 0.25
    hard = Counter(t for c in neg for t in c.tags if t.startswith("scenario:") and "hard-negative" in c.tags)
    assert len(hard) == len(english().hard_negatives)


@pytest.mark.parametrize("pack", [english(), french()], ids=["en", "fr"])
def test_every_pool_has_at_least_40_surface_forms_per_half(pack: object) -> None:
    from groomguard.training.synth.langpack import LangPack

    assert isinstance(pack, LangPack)
    for pool in pack.all_pools():
        assert pool.n_forms("all") >= 40, pool.name
        assert pool.n_forms("A") >= 20 and pool.n_forms("B") >= 20, pool.name
        assert set(pool.indices("A")).isdisjoint(pool.indices("B"))
    assert len(pack.tactics) == 12


def test_pool_halves_produce_different_text() -> None:
    a = {m.text for c in generate(40, 1, "A") for m in c.messages}
    b = {m.text for c in generate(40, 1, "B") for m in c.messages}
    assert len(a & b) < 0.1 * min(len(a), len(b))


def test_content_rule_no_explicit_terms(corpus: list[Conversation]) -> None:
    for conv in corpus:
        for m in conv.messages:
            assert not EXPLICIT_TERMS.search(m.text), conv.conversation_id
    for pack in (english(), french()):
        for pool in pack.all_pools():
            for template in pool.templates:
                assert not EXPLICIT_TERMS.search(template), pool.name
        for values in pack.slots.values():
            assert not any(EXPLICIT_TERMS.search(v) for v in values)


def test_content_rule_word_list_catches_terms() -> None:
    assert EXPLICIT_TERMS.search("send nudes") and not EXPLICIT_TERMS.search("send a selfie")


def test_shallow_features_do_not_separate_the_classes(corpus: list[Conversation]) -> None:
    aucs = shallow_auc(corpus, folds=5)
    assert max(aucs.values()) < 0.65, aucs


def test_no_line_in_more_than_one_percent_of_conversations(corpus: list[Conversation]) -> None:
    top, max_share = line_shares(corpus, 5)
    assert max_share <= 0.01, top[0]
