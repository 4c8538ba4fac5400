"""The SYNTHETIC account corpus (training/synth/accounts.py, `groomguard data synth-accounts`): shared
handles, one script per grooming account, overlapping times, labels, pool halves, content rule, seeds."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from groomguard.cli import main
from groomguard.errors import ConfigError
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.training.synth.accounts import iter_accounts, write_accounts
from groomguard.training.synth.accounts_en import YOUTH_CLUB
from groomguard.training.synth.config import load_synth_settings
from groomguard.training.synth.languages import english
from tests.test_synth import EXPLICIT_TERMS

SETTINGS = load_synth_settings()
N = 24


@pytest.fixture(scope="module")
def corpus() -> list[Conversation]:
    return list(iter_accounts(N, seed=5, pool_half="B"))


def by_account(convs: list[Conversation]) -> dict[str, list[Conversation]]:
    out: dict[str, list[Conversation]] = defaultdict(list)
    for c in convs:
        out[c.conversation_id.rsplit("-", 1)[0]].append(c)
    return out


def kind(conv: Conversation) -> str:
    (tag,) = [t for t in conv.tags if t.startswith("account:")]
    return tag.removeprefix("account:")


def test_accounts_share_one_handle_and_meet_new_contacts(corpus: list[Conversation]) -> None:
    accounts = by_account(corpus)
    assert len(accounts) == N
    holders: set[str] = set()
    contacts: list[str] = []
    for convs in accounts.values():
        k = kind(convs[0])
        assert {kind(c) for c in convs} == {k}
        lo, hi = {"grooming": SETTINGS.accounts.victims, "hard-negative": SETTINGS.accounts.young_contacts,
                  "benign": SETTINGS.accounts.benign_conversations}[k]
        assert lo <= len(convs) <= hi
        shared = set.intersection(*(set(c.authors) for c in convs))
        assert len(shared) == 1 and all(len(c.authors) == 2 for c in convs)
        holders |= shared
        contacts += [a for c in convs for a in c.authors if a not in shared]
    assert len(contacts) == len(set(contacts)) and not holders & set(contacts)  # every contact is new
    assert {kind(c) for c in corpus} == {"grooming", "hard-negative", "benign"}


def test_labels_follow_the_account(corpus: list[Conversation]) -> None:
    tactic_names = set(english().tactics)
    for convs in by_account(corpus).values():
        holder = set.intersection(*(set(c.authors) for c in convs)).pop()
        for c in convs:
            assert c.source == "synthetic" and "synthetic" in c.tags and "pool-half:B" in c.tags
            if kind(c) == "grooming":
                assert c.label == 1 and c.predator_ids == [holder] and c.first_risk_index is not None
                assert c.messages[c.first_risk_index].author == holder
                assert {t.removeprefix("tactic:") for t in c.tags if t.startswith("tactic:")} <= tactic_names
            else:
                assert c.label == 0 and c.predator_ids == [] and c.first_risk_index is None
                assert not any(t.startswith("tactic:") for t in c.tags)
            if kind(c) == "hard-negative":
                assert "hard-negative" in c.tags


def test_one_script_per_grooming_account_and_dropouts(corpus: list[Conversation]) -> None:
    """Every conversation of a grooming account follows the same tactic order (a dropout a prefix of it)."""
    grooming = [cs for cs in by_account(corpus).values() if kind(cs[0]) == "grooming"]
    assert grooming
    dropouts = 0
    for convs in grooming:
        orders = [[t for t in c.tags if t.startswith("tactic:") and t != "tactic:pressure"] for c in convs]
        full = max(orders, key=len)
        assert all(o == full[: len(o)] for o in orders)
        assert len({t for c in convs for t in c.tags if t.startswith("pacing:")}) == 1  # the account's own
        for c, o in zip(convs, orders, strict=True):
            if "dropout" in c.tags:
                dropouts += 1
                assert 1 <= len(o) <= SETTINGS.accounts.dropout_beats[1]
    assert dropouts > 0


def times(conv: Conversation) -> list[datetime]:
    out = [m.timestamp for m in conv.messages if m.timestamp is not None]
    assert len(out) == len(conv.messages)
    return out


def test_times_spread_over_days_and_overlap(corpus: list[Conversation]) -> None:
    overlapping = 0
    for convs in by_account(corpus).values():
        spans = [(times(c)[0], times(c)[-1]) for c in convs]
        assert all(times(c) == sorted(times(c)) for c in convs)
        starts = sorted(s for s, _ in spans)
        assert starts[-1] - starts[0] <= timedelta(days=SETTINGS.accounts.start_spread_days)
        overlapping += any(a[0] < b[1] and b[0] < a[1] for i, a in enumerate(spans) for b in spans[i + 1:])
    assert overlapping >= N // 2
    assert len({times(c)[0].date() for c in corpus}) > N  # conversations start on many different days


def test_hard_negative_roles_include_the_youth_club(corpus: list[Conversation]) -> None:
    roles = {t for c in corpus if kind(c) == "hard-negative" for t in c.tags if t.startswith("scenario:")}
    assert roles <= {f"scenario:{r}" for r in SETTINGS.accounts.hard_roles}
    for half in ("A", "B"):
        assert YOUTH_CLUB.lead.n_forms(half) >= 20 and YOUTH_CLUB.reply.n_forms(half) >= 20


def test_content_rule_no_explicit_terms(corpus: list[Conversation]) -> None:
    for c in corpus:
        for m in c.messages:
            assert not EXPLICIT_TERMS.search(m.text), c.conversation_id
    for pool in (YOUTH_CLUB.lead, YOUTH_CLUB.reply):
        assert not any(EXPLICIT_TERMS.search(t) for t in pool.templates)


def test_seeds_are_reproducible_and_halves_differ(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    assert write_accounts(a, 4, 9, "B") == write_accounts(b, 4, 9, "B")
    write_accounts(c, 4, 10, "B")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    text_a = {m.text for conv in iter_accounts(6, 1, "A") for m in conv.messages}
    text_b = {m.text for conv in iter_accounts(6, 1, "B") for m in conv.messages}
    assert len(text_a & text_b) < 0.15 * min(len(text_a), len(text_b))


def test_unknown_role_is_a_config_error() -> None:
    bad = SETTINGS.accounts.model_copy(update={"hard_roles": ["tutor_grade", "lifeguard"]})
    with pytest.raises(ConfigError, match="lifeguard"):
        list(iter_accounts(1, 1, settings=bad, generator=SETTINGS.generator))


def test_cli_writes_the_corpus_and_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "accounts.jsonl"
    with pytest.raises(SystemExit) as done:
        main(["data", "synth-accounts", "-n", "3", "--seed", "2", "--pool-half", "A", "-o", str(out)])
    assert done.value.code == 0
    convs = list(iter_jsonl(out))
    assert len(by_account(convs)) == 3 and "pool-half:A" in convs[0].tags
    assert "synthetic conversations of 3 accounts" in capsys.readouterr().out
    for args in (["-n", "0"], ["--set", "accounts.dropout_rate=2"]):
        with pytest.raises(SystemExit) as done:
            main(["data", "synth-accounts", "-o", str(tmp_path / "x.jsonl"), *args])
        assert done.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
    json.loads(out.read_text().splitlines()[0])
