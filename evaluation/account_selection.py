"""Choosing account rules on VALIDATION accounts, never on the test ones (evaluation/accounts.py).

One selection rule for every candidate family (`best_within_budget`: the highest F0.5 with at most
`budget` of the non-grooming validation accounts flagged, ties to the rule that flags sooner):

- `choose_min_risk`: the served account rule's minimum risk and number of conversations;
- `choose_single_threshold`: the best single conversation held to the same budget, i.e. the conversation
  threshold (review or stricter) at which one conversation alone flags no more non-grooming accounts
  than the account rule may. At `review` the single conversation is fast because it is noisy; comparing
  messages until flagged is only fair at equal false flags, and this is the threshold that gives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from groomguard.errors import DataError
from groomguard.evaluation.account_replay import first_reaching, replay, rule_metrics, truth_of
from groomguard.schema import Conversation
from groomguard.scores import Thresholds
from groomguard.serving.store import AccountsConfig
from groomguard.serving.store.account_rule import AccountRule, min_risk_for

_READ = ("precision", "recall", "f0_5", "false_flag_rate", "messages_until_flagged_median", "never_flagged")


def candidates(fractions: Sequence[float], review: float) -> list[float]:
    """The minimum risks tried on validation: each fraction of the review threshold, and review itself."""
    return sorted({min_risk_for(f, review) for f in fractions} | {review})  # 1.0 * review is review: no twin


def choose_min_risk(convs: Sequence[Conversation], risks: Sequence[Sequence[float]], thresholds: Thresholds,
                    rule_cfg: AccountsConfig, fractions: Sequence[float], budget: float,
                    progress: Callable[[int], None] | None = None,
                    conversations: Sequence[int] = ()) -> dict[str, Any]:
    """Replay the validation corpus once per candidate (minimum risk x rule conversations) and pick one
    (evaluation/accounts.py's docstring). `conversations` empty: the configured `rule_conversations` only."""
    truth = truth_of(convs)
    rows = []
    for n in sorted(set(conversations) or {rule_cfg.rule_conversations}):
        for floor in candidates(fractions, thresholds.review):
            rule = rule_from_config(rule_cfg.model_copy(update={"rule_min_risk": floor, "rule_min_risk_fraction": None,
                                                     "rule_conversations": n}), thresholds)
            m = rule_metrics(truth, replay(convs, risks, thresholds, rule, progress).account_rule)
            rows.append({"conversations": n, "min_risk": floor, **{k: m[k] for k in _READ}})
    best = best_within_budget(rows, budget, ("min_risk", "conversations"))
    if best is not None:
        why = (f"highest validation F0.5 with at most {budget:.0%} of non-grooming accounts flagged "
               "(ties: fewer messages until flagged, then the stricter rule)")
    else:
        best = {"min_risk": thresholds.review, "conversations": rule_cfg.rule_conversations}
        why = f"no candidate kept validation false flags within {budget:.0%}: the review threshold"
    return {"n_accounts": len(truth.accounts), "n_grooming": len(truth.grooming), "budget": budget,
            "candidates": rows, "chosen": best["min_risk"], "chosen_conversations": best["conversations"],
            # what configs/serve.yaml `rule_min_risk_fraction` serves for this choice
            "chosen_fraction_of_review": best["min_risk"] / thresholds.review if thresholds.review else None,
            "reason": why}


def best_within_budget(rows: Sequence[dict[str, Any]], budget: float,
                       stricter: Sequence[str] = ()) -> dict[str, Any] | None:
    """The selection rule for account rules: among candidate rows whose `false_flag_rate` is within
    `budget`, the highest `f0_5`; among equals the one that flags sooner
    (`messages_until_flagged_median`), then the higher of `stricter` fields. None when none is within."""
    within = [r for r in rows if r["false_flag_rate"] <= budget]
    if not within:
        return None
    return max(within, key=lambda r: (r["f0_5"], -(r["messages_until_flagged_median"] or math.inf),
                                      *(r[k] for k in stricter)))


def single_candidates(multiples: Sequence[float], thresholds: Thresholds) -> list[float]:
    """Conversation thresholds tried for the best single conversation: each multiple of review that
    stays below 1, review itself and the served `high`."""
    raised = {m * thresholds.review for m in multiples if m * thresholds.review < 1.0}
    return sorted(raised | {thresholds.review, thresholds.high})


def choose_single_threshold(convs: Sequence[Conversation], risks: Sequence[Sequence[float]],
                            thresholds: Thresholds, multiples: Sequence[float], budget: float) -> dict[str, Any]:
    """The best single conversation at the account rule's false-flag budget (module docstring):
    every candidate threshold on the validation accounts, and the one `best_within_budget` picks
    (`chosen` None when none stays within the budget)."""
    truth = truth_of(convs)
    rows = [{"threshold": t, **{k: m[k] for k in _READ}}
            for t in single_candidates(multiples, thresholds)
            for m in [rule_metrics(truth, first_reaching(convs, risks, t))]]
    best = best_within_budget(rows, budget, ("threshold",))
    top = max(r["threshold"] for r in rows)
    why = (f"highest validation F0.5 of one conversation alone with at most {budget:.0%} of non-grooming accounts "
           "flagged, the account rule's budget" if best is not None else
           f"no conversation threshold up to {top:.4f} kept validation false flags within {budget:.0%}")
    return {"budget": budget, "candidates": rows, "chosen": best["threshold"] if best is not None else None,
            "reason": why}


def rule_from_config(rule_cfg: AccountsConfig, thresholds: Thresholds) -> AccountRule:
    rule = AccountRule.from_config(rule_cfg, thresholds.review)
    if rule is None:
        raise DataError("accounts.rule.rule_enabled is false: there is no account rule to evaluate")
    return rule

