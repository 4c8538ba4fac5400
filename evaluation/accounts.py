"""Account-level evaluation (issue 25 item 5): does the account rule find serial groomers better, or
sooner, than their single worst conversation does? Measured, not asserted.

The corpus (`groomguard data synth-accounts`, or any labelled JSONL with timestamps) is replayed
message by message in time order through the SERVED code, `serving/store/accounts.after_append`,
on a temporary SQLite store, with each message's window risk as the serving engine scored it and the
message's own timestamp as the append's time (so `rule_days` means what it means when served). Two
rules are read off the same replay:

- **best conversation**: an account is flagged when one of its conversations reaches `review` for it
  (the author's risk there, the highest risk of the windows ending at their own messages, reaches the
  review threshold): what the conversation cases alone give;
- **account rule**: flagged when `after_append` opens an account case for it;
- **either**: the earlier of the two, what a served deployment raises (both kinds of case).

An *account* is an author with at least two conversations in the corpus (the population the rule is
about; the children and other contacts, one conversation each, are outside both rules' counts); a
*grooming account* is one named in some conversation's `predator_ids`. Precision, recall and F0.5
are over accounts; *messages until flagged* counts the account's own messages, across all its
conversations in time order, up to and including the one that flagged it (median over the grooming
accounts flagged; those never flagged are counted apart).

`rule_min_risk` and `rule_conversations` are chosen on a VALIDATION account corpus (another seed),
never on the test one: the highest F0.5 among the candidates (`accounts.min_risk_fractions` of the
review threshold, times `accounts.rule_conversations_candidates`) whose share of non-grooming
validation accounts flagged stays within `accounts.max_false_flag_rate`; ties go to the rule that
flags sooner (median messages until flagged), then to the higher minimum and more conversations.
Without a validation corpus the configured `rule.rule_min_risk` is used as is.

At `review` the best single conversation flags sooner than any account rule can, and pays for it in
false flags (docs/model-development.md "Accounts"). So the report also holds the best single
conversation **at the account rule's false-flag budget**: the conversation threshold (review or
stricter, `accounts.single_conversation_multiples`) chosen on the same validation accounts by the
same rule (evaluation/account_selection.py). "Earlier" is judged there, at equal false flags.

Modules: evaluation/account_replay.py replays a corpus and reads the metrics off it;
evaluation/account_selection.py chooses on validation; this one runs both and builds the block.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groomguard.errors import DataError
from groomguard.evaluation.account_replay import first_reaching, paired, replay, rule_metrics, truth_of
from groomguard.evaluation.account_selection import (
    candidates,
    choose_min_risk,
    choose_single_threshold,
    rule_from_config,
)
from groomguard.evaluation.config import AccountsEvalConfig
from groomguard.evaluation.held_out import assert_held_out
from groomguard.jsonl import iter_jsonl
from groomguard.progress import progress_bar
from groomguard.schema import Conversation
from groomguard.scores import Thresholds
from groomguard.serving.store import AccountsConfig


@dataclass(frozen=True)
class AccountPaths:
    """`groomguard evaluate --accounts TEST [--accounts-val VAL]`."""

    test: Path
    val: Path | None = None


def accounts_block(test: Sequence[Conversation], test_risks: Sequence[Sequence[float]], thresholds: Thresholds,
                   rule_cfg: AccountsConfig, paths: AccountPaths, selection: dict[str, Any] | None,
                   progress: Callable[[int], None] | None = None,
                   single: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `accounts` block of metrics.json: both rules on the test corpus, the rule's minimum from
    `selection` (validation) when given, else from the config. `single`: the best single conversation's
    threshold at the rule's budget, chosen on validation (`choose_single_threshold`), measured here too."""
    chosen = ({"rule_min_risk": selection["chosen"], "rule_min_risk_fraction": None,
               "rule_conversations": selection["chosen_conversations"]} if selection is not None else {})
    rule = rule_from_config(rule_cfg.model_copy(update=chosen), thresholds)
    truth = truth_of(test)
    result = replay(test, test_risks, thresholds, rule, progress)
    best = rule_metrics(truth, result.best_conversation)
    acct = rule_metrics(truth, result.account_rule)
    either = {a: min(k for k in (result.best_conversation.get(a), result.account_rule.get(a)) if k is not None)
              for a in {*result.best_conversation, *result.account_rule}}
    kinds = Counter(truth.kinds.get(a, "untagged") for a in truth.accounts)
    b, a = best["messages_until_flagged_median"], acct["messages_until_flagged_median"]
    at_budget: dict[str, Any] | None = None
    if single is not None and single["chosen"] is not None:
        flagged = first_reaching(test, test_risks, single["chosen"])
        at_budget = {"threshold": single["chosen"], **rule_metrics(truth, flagged),
                     "paired": paired(truth, flagged, result.account_rule)}
    s_median = at_budget["messages_until_flagged_median"] if at_budget is not None else None
    return {
        "path": str(paths.test), "val_path": str(paths.val) if paths.val is not None else None,
        "n_conversations": len(test), "n_accounts": len(truth.accounts), "n_grooming": len(truth.grooming),
        "accounts_by_kind": dict(sorted(kinds.items())),
        "synthetic": any(c.source == "synthetic" for c in test),
        "rule": {"conversations": rule.conversations, "days": rule.days, "min_risk": rule.min_risk,
                 "review_threshold": thresholds.review,
                 "min_risk_source": "validation" if selection is not None else "config"},
        "selection": selection,
        "best_conversation": best, "account_rule": acct,
        "either": rule_metrics(truth, either),  # what serving raises: conversation cases and account cases
        "paired": paired(truth, result.best_conversation, result.account_rule),
        # one conversation alone at the rule's false-flag budget (None: not chosen, or nothing within it)
        "single_selection": single, "best_conversation_at_budget": at_budget,
        "target": {"f0_5_above_best_conversation": acct["f0_5"] > best["f0_5"],
                   "earlier_median": a is not None and b is not None and a < b,
                   # at equal false flags: sooner than one conversation alone, and finding at least as many
                   "earlier_median_at_equal_budget": None if at_budget is None else (
                       a is not None and (s_median is None or a < s_median)
                       and acct["recall"] >= at_budget["recall"])},
    }


def evaluate_accounts(score: Callable[[Sequence[Conversation], str], Sequence[Sequence[float]]],
                      seen: Sequence[Conversation], thresholds: Thresholds, cfg: AccountsEvalConfig,
                      paths: AccountPaths, show_progress: bool = False,
                      scored: dict[Path, Sequence[Sequence[float]]] | None = None) -> dict[str, Any]:
    """`evaluate --accounts`: score the corpora through the serving engine (`score`: conversations,
    what -> risk after each message at stride 1), choose the minimum on validation, report on test.
    `scored`: files already scored at stride 1 in this run (`--input` itself), not scored again."""
    def load(path: Path) -> list[Conversation]:
        convs = list(iter_jsonl(path))
        if not convs or any(c.label is None for c in convs):
            raise DataError(f"{path}: account evaluation needs labelled conversations")
        return convs

    test = load(paths.test)
    val = load(paths.val) if paths.val is not None else None
    assert_held_out(test, [*seen, *(val or [])], paths.test, "account test")
    n_events = sum(len(c.messages) for c in test) + sum(len(c.messages) for c in val or []) * len(
        candidates(cfg.min_risk_fractions, thresholds.review)) * max(1, len(set(cfg.rule_conversations_candidates)))
    with progress_bar() if show_progress else nullcontext() as bar:
        task = bar.add_task("replaying accounts", total=n_events) if bar is not None else None

        def advance(n: int) -> None:
            if bar is not None and task is not None:
                bar.advance(task, n)

        def risks(path: Path, convs: list[Conversation], what: str) -> Sequence[Sequence[float]]:
            done = (scored or {}).get(path.resolve())
            return done if done is not None else score(convs, what)

        selection = single = None
        if val is not None and paths.val is not None:
            val_risks = risks(paths.val, val, "validation accounts")
            selection = choose_min_risk(val, val_risks, thresholds, cfg.rule, cfg.min_risk_fractions,
                                        cfg.max_false_flag_rate, advance, cfg.rule_conversations_candidates)
            selection["path"] = str(paths.val)
            single = choose_single_threshold(val, val_risks, thresholds, cfg.single_conversation_multiples,
                                             cfg.max_false_flag_rate)
        return accounts_block(test, risks(paths.test, test, "test accounts"), thresholds, cfg.rule, paths,
                              selection, advance, single)

