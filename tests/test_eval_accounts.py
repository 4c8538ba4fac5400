"""Account-level evaluation (evaluation/accounts.py): a hand-worked corpus with risks set by hand,
replayed through the served account code; every expected number is worked out in the comments.

Review 0.5, rule: 3 conversations with 3 counterparts within 30 days at risk >= 0.25. Each child writes
first (0.1), then the account. "#k" = the account's k-th own message, in time order.

- G1 (grooming): 0.3 in c1 (#1), c2 (#2), c3 (#3) -> account rule at #3; then 0.6 in c1 (#4) -> best
  conversation at #4.
- G2 (grooming): 0.3 / 0.35 / 0.4 -> account rule at #3; never reaches review -> best never.
- H1 (a tutor, hard negative): 0.3 in three conversations -> account rule (false) at #3.
- B2 (benign): 0.6 in its first conversation (#1) -> best conversation (false); 0.1 in its second.

best conversation: {G1, B2}: TP 1 FP 1 FN 1 -> P 0.5 R 0.5 F0.5 0.5; until flagged [4]; 1 never.
account rule: {G1, G2, H1}: TP 2 FP 1 FN 0 -> P 2/3 R 1 F0.5 = 1.25 * 2/3 / (0.25 * 2/3 + 1) = 5/7;
until flagged [3, 3]; 0 never. Both flag G1: the account rule 1 message sooner.
either (the earlier flag): {G1 at 3, G2 at 3, H1, B2}: TP 2 FP 2 -> P 0.5 R 1 F0.5 = 0.625 / 1.125 = 5/9.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from groomguard.errors import DataError
from groomguard.evaluation.account_replay import first_reaching, paired, replay, rule_metrics, truth_of
from groomguard.evaluation.account_selection import candidates, choose_min_risk, choose_single_threshold
from groomguard.evaluation.accounts import AccountPaths, accounts_block
from groomguard.evaluation.report_accounts import account_lines, render_accounts
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds
from groomguard.serving.store import AccountsConfig
from groomguard.serving.store.account_rule import AccountRule

TH = Thresholds(review=0.5, high=0.8)
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
# (conversation, account, child, the account's risk, minute it writes, label/tag)
PLAN = [
    ("c1", "G1", "k1", 0.3, 0, "grooming"), ("c2", "G1", "k2", 0.3, 10, "grooming"),
    ("c3", "G1", "k3", 0.3, 20, "grooming"),
    ("g1", "G2", "k4", 0.3, 1, "grooming"), ("g2", "G2", "k5", 0.35, 11, "grooming"),
    ("g3", "G2", "k6", 0.4, 21, "grooming"),
    ("h1", "H1", "k7", 0.3, 2, "hard-negative"), ("h2", "H1", "k8", 0.3, 12, "hard-negative"),
    ("h3", "H1", "k9", 0.3, 22, "hard-negative"),
    ("b1", "B2", "k10", 0.6, 3, "benign"), ("b2", "B2", "k11", 0.1, 13, "benign"),
]


def corpus() -> tuple[list[Conversation], list[list[float]]]:
    convs, risks = [], []
    for cid, account, child, risk, minute, kind in PLAN:
        t = T0 + timedelta(minutes=minute)
        msgs = [Message(author=child, text="hi", timestamp=t - timedelta(seconds=30)),
                Message(author=account, text="hello", timestamp=t)]
        r = [0.1, risk]
        if cid == "c1":  # G1 comes back to c1 later and reaches review there
            msgs.append(Message(author=account, text="again", timestamp=T0 + timedelta(minutes=30)))
            r.append(0.6)
        grooming = kind == "grooming"
        convs.append(Conversation(conversation_id=cid, messages=msgs, label=int(grooming),  # type: ignore[arg-type]
                                  predator_ids=[account] if grooming else [], source="synthetic",
                                  tags=[f"account:{kind}"]))
        risks.append(r)
    return convs, risks


RULE = AccountRule(conversations=3, days=30, min_risk=0.25)


def test_truth_accounts_are_authors_with_several_conversations() -> None:
    truth = truth_of(corpus()[0])
    assert truth.accounts == {"G1", "G2", "H1", "B2"}  # children have one conversation each
    assert truth.grooming == {"G1", "G2"}
    assert truth.kinds == {"G1": "grooming", "G2": "grooming", "H1": "hard-negative", "B2": "benign"}


def test_hand_worked_metrics() -> None:
    convs, risks = corpus()
    result = replay(convs, risks, TH, RULE)
    assert result.best_conversation == {"G1": 4, "B2": 1}
    assert result.account_rule == {"G1": 3, "G2": 3, "H1": 3}
    truth = truth_of(convs)
    best = rule_metrics(truth, result.best_conversation)
    assert (best["precision"], best["recall"], best["f0_5"]) == (0.5, 0.5, 0.5)
    assert (best["tp"], best["fp"], best["fn"], best["never_flagged"]) == (1, 1, 1, 1)
    assert best["messages_until_flagged_median"] == 4 and best["false_flags_by_kind"] == {"benign": 1}
    acct = rule_metrics(truth, result.account_rule)
    assert acct["precision"] == pytest.approx(2 / 3) and acct["recall"] == 1.0
    assert acct["f0_5"] == pytest.approx(5 / 7)
    assert acct["messages_until_flagged"] == [3, 3] and acct["never_flagged"] == 0
    assert acct["false_flag_rate"] == 0.5 and acct["false_flags_by_kind"] == {"hard-negative": 1}
    assert paired(truth, result.best_conversation, result.account_rule) == {
        "n": 1, "sooner": 1, "same": 0, "later": 0, "median_messages_saved": 1, "only_account_rule": 1,
        "only_best_conversation": 0}


def test_min_risk_at_review_is_todays_rule() -> None:
    """At 0.5 nothing but G1's c1 and B2's b1 count: no account reaches three conversations."""
    convs, risks = corpus()
    assert replay(convs, risks, TH, AccountRule(3, 30, 0.5)).account_rule == {}


def test_rule_days_use_message_times() -> None:
    """The replay's clock is the messages' own: G2's conversations 40 days apart never count together."""
    convs, risks = corpus()

    def later(m: Message, days: int) -> Message:
        assert m.timestamp is not None
        return m.model_copy(update={"timestamp": m.timestamp + timedelta(days=days)})

    spread = [c.model_copy(update={"messages": [later(m, 40 * k) for m in c.messages]})
              if c.conversation_id.startswith("g") else c for k, c in enumerate(convs)]
    assert "G2" not in replay(spread, risks, TH, RULE).account_rule


def test_choose_min_risk_on_validation() -> None:
    """Candidates 0.25 (0.5 x review) and 0.5: at 0.25 F0.5 5/7 with 1 of 2 non-grooming accounts
    flagged; at 0.5 F0.5 0 with none. A 50 % budget takes 0.25, a 40 % one only allows 0.5."""
    convs, risks = corpus()
    loose = choose_min_risk(convs, risks, TH, AccountsConfig(), [0.5], 0.5)
    assert [c["min_risk"] for c in loose["candidates"]] == [0.25, 0.5]
    assert loose["candidates"][0]["f0_5"] == pytest.approx(5 / 7) and loose["candidates"][1]["f0_5"] == 0.0
    assert loose["chosen"] == 0.25 and loose["chosen_fraction_of_review"] == 0.5  # what serve.yaml takes
    assert choose_min_risk(convs, risks, TH, AccountsConfig(), [0.5], 0.4)["chosen"] == 0.5
    # N = 2 beside N = 3: both flag G1, G2 and H1 at 0.25 (F0.5 5/7 each), N = 2 at each groomer's 2nd own
    # message instead of the 3rd, so the tie goes to N = 2; at 0.5 neither flags anyone (one conversation
    # each at >= 0.5), and the tie goes to the stricter rule (0.5, N = 3)
    both = choose_min_risk(convs, risks, TH, AccountsConfig(), [0.5], 0.5, conversations=[3, 2])
    assert [(c["conversations"], c["min_risk"]) for c in both["candidates"]] == [(2, 0.25), (2, 0.5), (3, 0.25),
                                                                                    (3, 0.5)]
    assert [c["messages_until_flagged_median"] for c in both["candidates"]] == [2, None, 3, None]
    assert (both["chosen_conversations"], both["chosen"]) == (2, 0.25)
    strict = choose_min_risk(convs, risks, TH, AccountsConfig(), [0.5], 0.4, conversations=[2, 3])
    assert (strict["chosen_conversations"], strict["chosen"]) == (3, 0.5)
    odd = Thresholds(review=0.5563393909453768, high=0.9)  # a review threshold with many digits: no twin
    assert candidates([0.3, 1.0], odd.review) == [0.3 * odd.review, odd.review]


def test_block_report_and_lines(tmp_path: Path) -> None:
    convs, risks = corpus()
    three = AccountsConfig(rule_conversations=3)
    selection = choose_min_risk(convs, risks, TH, three, [0.5], 0.5)
    block = accounts_block(convs, risks, TH, three, AccountPaths(tmp_path / "t.jsonl"), selection)
    assert block["rule"] == {"conversations": 3, "days": 30, "min_risk": 0.25, "review_threshold": 0.5,
                             "min_risk_source": "validation"}
    assert block["target"] == {"f0_5_above_best_conversation": True, "earlier_median": True,
                               "earlier_median_at_equal_budget": None}  # no single threshold given
    assert block["accounts_by_kind"] == {"benign": 1, "grooming": 2, "hard-negative": 1}
    either = block["either"]
    assert (either["tp"], either["fp"], either["fn"]) == (2, 2, 0) and either["f0_5"] == pytest.approx(5 / 9)
    assert either["messages_until_flagged"] == [3, 3]
    json.dumps(block)  # metrics.json must hold it
    html = render_accounts(block)
    assert "SYNTHETIC" in html and "0.714" in html and "G1" not in html  # no handle in the report
    lines = account_lines({"accounts": block})
    assert "F0.5 0.500" in lines[0] and "F0.5 0.714" in lines[1] and "validation" in lines[2]
    from_config = accounts_block(convs, risks, TH, AccountsConfig(), AccountPaths(tmp_path / "t.jsonl"), None)
    assert from_config["rule"]["min_risk"] == 0.5 and from_config["rule"]["min_risk_source"] == "config"


def test_bad_corpora_are_refused() -> None:
    convs, risks = corpus()
    with pytest.raises(DataError, match="two or more conversations"):
        truth_of(convs[:1])
    undated = [c.model_copy(update={"messages": [m.model_copy(update={"timestamp": None}) for m in c.messages]})
               for c in convs]
    with pytest.raises(DataError, match="no timestamp"):
        replay(undated, risks, TH, RULE)


def test_cli_evaluate_with_accounts(tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`groomguard evaluate --accounts --accounts-val` end to end on the tiny bundle (random weights:
    the numbers mean nothing, the wiring does): metrics.json, report.html and the console lines."""
    from groomguard.cli import main
    from groomguard.training.synth.accounts import write_accounts
    from tests.support.eval_data import write_labelled

    main_set = write_labelled(tmp_path / "test.jsonl", 12, seed=1)
    write_accounts(tmp_path / "val.jsonl", 2, 31, "A")
    write_accounts(tmp_path / "acc.jsonl", 2, 32, "B")
    out = tmp_path / "report"
    base = ["evaluate", "--bundle", str(tiny_bundle_dir), "-i", str(main_set), "-o", str(out),
            "--set", "bootstrap.resamples=10", "--set", "baselines.tfidf.enabled=false",
            "--set", "accounts.min_risk_fractions=[0.5]", "--set", "engine.providers=[CPUExecutionProvider]"]
    with pytest.raises(SystemExit) as exc:
        main([*base, "--accounts", str(tmp_path / "acc.jsonl"), "--accounts-val", str(tmp_path / "val.jsonl")])
    assert exc.value.code == 0
    printed = capsys.readouterr().out
    assert "conversations at minimum risk" in printed and "(from validation;" in printed
    block = json.loads((out / "metrics.json").read_text())["accounts"]
    assert block["n_accounts"] == 2 and block["selection"]["path"] == str(tmp_path / "val.jsonl")
    # configs/eval.yaml tries N = 2 and 3 at each of the two minimums; the report's rule is the chosen pair
    assert len(block["selection"]["candidates"]) == 4 and block["rule"]["min_risk"] == block["selection"]["chosen"]
    assert block["rule"]["conversations"] == block["selection"]["chosen_conversations"]
    # one conversation alone is also held to the budget: its lowest candidate is review itself
    assert block["single_selection"]["candidates"][0]["threshold"] == block["rule"]["review_threshold"]
    assert "Accounts: several conversations per author" in (out / "report.html").read_text()
    with pytest.raises(SystemExit) as exc:
        main([*base, "--accounts-val", str(tmp_path / "val.jsonl")])
    assert exc.value.code == 2 and "--accounts-val needs --accounts" in capsys.readouterr().err


def test_a_file_scored_already_is_not_scored_again(tmp_path: Path) -> None:
    """`evaluate -i X --accounts X` scores X once: the replay takes the risks already there."""
    from groomguard.evaluation.accounts import evaluate_accounts
    from groomguard.evaluation.config import AccountsEvalConfig
    from groomguard.jsonl import write_jsonl

    convs, risks = corpus()
    path = tmp_path / "acc.jsonl"
    write_jsonl(path, convs)

    def never(cs: object, what: str) -> list[list[float]]:
        raise AssertionError(f"scored {what} again")

    block = evaluate_accounts(never, [], TH, AccountsEvalConfig(), AccountPaths(path), scored={path.resolve(): risks})
    assert block["rule"]["min_risk"] == 0.5 and block["best_conversation"]["tp"] == 1


def test_first_reaching_at_stricter_thresholds_waits() -> None:
    """At 0.55 as at review (0.5): G1's 0.6 (#4) and B2's 0.6 (#1) are the only risks at or above it.
    At 0.65 nobody is flagged."""
    convs, risks = corpus()
    assert first_reaching(convs, risks, 0.55) == {"G1": 4, "B2": 1}
    assert first_reaching(convs, risks, 0.65) == {}
    # the child's 0.1 answers are theirs: at 0.1 every author's first message counts (children: one each)
    low = first_reaching(convs, risks, 0.1)
    assert low["k1"] == 1 and low["G1"] == 1 and low["G2"] == 1


def test_single_conversation_at_the_rules_budget() -> None:
    """Candidates: multiples 1.0 and 1.3 of review (0.5, 0.65) and high (0.8). At 0.5 best conversation
    F0.5 0.5 with 1 of 2 non-grooming accounts (B2) flagged; at 0.65 and 0.8 nobody, F0.5 0. A 50 % budget
    takes 0.5; a 40 % one leaves 0.65 and 0.8 tied at F0.5 0 with no message count, and the tie goes to
    the stricter (0.8). With high at 0.55 the candidates are 0.5 and 0.55, both flag B2 (50 %), so a
    40 % budget chooses nothing."""
    convs, risks = corpus()
    loose = choose_single_threshold(convs, risks, TH, [1.0, 1.3, 2.5], 0.5)  # 2.5 x 0.5 = 1.25: not tried
    assert [c["threshold"] for c in loose["candidates"]] == [0.5, 0.65, 0.8]
    assert [c["f0_5"] for c in loose["candidates"]] == [0.5, 0.0, 0.0]
    assert [c["false_flag_rate"] for c in loose["candidates"]] == [0.5, 0.0, 0.0]
    assert loose["chosen"] == 0.5
    assert choose_single_threshold(convs, risks, TH, [1.0, 1.3], 0.4)["chosen"] == 0.8
    none = choose_single_threshold(convs, risks, Thresholds(review=0.5, high=0.55), [1.0], 0.4)
    assert none["chosen"] is None and "up to 0.5500" in none["reason"]


def test_block_compares_at_equal_budget(tmp_path: Path) -> None:
    """The single conversation at 0.55 (chosen on validation, here by hand) flags G1 at #4 and B2; the
    account rule (3 conversations at 0.25) flags G1 and G2 at #3: sooner on G1 by 1, and G2 only by the
    rule. So the rule is earlier at equal budget (median 3 against 4) with recall 1 against 0.5."""
    convs, risks = corpus()
    three = AccountsConfig(rule_conversations=3)
    selection = choose_min_risk(convs, risks, TH, three, [0.5], 0.5)
    single = {"budget": 0.5, "candidates": [], "chosen": 0.55, "reason": "by hand"}
    block = accounts_block(convs, risks, TH, three, AccountPaths(tmp_path / "t.jsonl"), selection, single=single)
    at = block["best_conversation_at_budget"]
    assert at["threshold"] == 0.55 and at["messages_until_flagged"] == [4] and at["recall"] == 0.5
    assert at["paired"] == {"n": 1, "sooner": 1, "same": 0, "later": 0, "median_messages_saved": 1,
                            "only_account_rule": 1, "only_best_conversation": 0}
    assert block["target"]["earlier_median_at_equal_budget"] is True
    html = render_accounts(block)
    assert "reaches 0.5500, chosen on validation" in html and "At equal false flags" in html
    assert any("at the rule's budget" in line for line in account_lines({"accounts": block}))
    json.dumps(block)
    unchosen = accounts_block(convs, risks, TH, three, AccountPaths(tmp_path / "t.jsonl"), selection,
                              single={**single, "chosen": None, "reason": "nothing within 40 %"})
    assert unchosen["best_conversation_at_budget"] is None
    assert unchosen["target"]["earlier_median_at_equal_budget"] is None
    assert "nothing within 40 %" in render_accounts(unchosen)
