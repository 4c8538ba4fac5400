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
"""

from __future__ import annotations

import math
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from groomguard.errors import DataError
from groomguard.evaluation.config import AccountsEvalConfig
from groomguard.evaluation.held_out import assert_held_out
from groomguard.evaluation.metrics import f_beta, safe_div
from groomguard.jsonl import iter_jsonl
from groomguard.progress import progress_bar
from groomguard.schema import Conversation
from groomguard.scores import Thresholds, level_for
from groomguard.serving.store import AccountsConfig, StoreConfig, open_store
from groomguard.serving.store.account_rule import AccountRule
from groomguard.serving.store.accounts import after_append
from groomguard.serving.store.orm import AccountConversationRow, CaseRow, utc

MODEL_REF = "evaluation"  # written on the replay's (temporary) account cases


@dataclass(frozen=True)
class AccountPaths:
    """`groomguard evaluate --accounts TEST [--accounts-val VAL]`."""

    test: Path
    val: Path | None = None


@dataclass(frozen=True)
class Truth:
    accounts: frozenset[str]  # authors with >= 2 conversations
    grooming: frozenset[str]  # accounts named in predator_ids
    kinds: dict[str, str]  # account -> its `account:` tag (grooming / hard-negative / benign), if tagged


@dataclass(frozen=True)
class Replay:
    """Per rule, the flagged authors and their own messages until flagged."""

    best_conversation: dict[str, int]
    account_rule: dict[str, int]


def truth_of(convs: Sequence[Conversation]) -> Truth:
    seen: Counter[str] = Counter(a for c in convs for a in set(c.authors))
    accounts = frozenset(a for a, n in seen.items() if n >= 2)
    if not accounts:
        raise DataError("accounts: no author has two or more conversations (use `groomguard data synth-accounts`)")
    grooming = frozenset(a for c in convs for a in c.predator_ids if a in accounts)
    kinds: dict[str, str] = {}
    for c in convs:
        tag = next((t.removeprefix("account:") for t in c.tags if t.startswith("account:")), None)
        holder = [a for a in c.authors if a in accounts]
        if tag is not None and len(holder) == 1:
            kinds.setdefault(holder[0], tag)
    return Truth(accounts, grooming, kinds)


def events_in_time_order(convs: Sequence[Conversation]) -> list[tuple[Any, int, int]]:
    """(time, conversation, message) for every message, in time order; ties keep conversation order."""
    out = []
    for ci, conv in enumerate(convs):
        last = None
        for mi, m in enumerate(conv.messages):
            ts = utc(m.timestamp)
            if ts is None:
                raise DataError(f"accounts: conversation {conv.conversation_id!r} message {mi} has no timestamp")
            if last is not None and ts < last:
                raise DataError(f"accounts: conversation {conv.conversation_id!r} goes back in time at message {mi}")
            last = ts
            out.append((ts, ci, mi))
    out.sort()
    return out


def replay(convs: Sequence[Conversation], risks: Sequence[Sequence[float]], thresholds: Thresholds,
           rule: AccountRule, progress: Callable[[int], None] | None = None) -> Replay:
    """Every message, one append each in time order, through `after_append` on a fresh SQLite store
    (one transaction: nothing else writes it). The best-conversation flag is the author's first own
    message whose window reaches review (where the stored level of that conversation rises from low),
    checked against the store's rows at the end."""
    def level_of(r: float) -> str:
        return level_for(r, thresholds)

    own: Counter[str] = Counter()
    best: dict[str, int] = {}
    account: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="groomguard-accounts-") as tmp:
        store = open_store(StoreConfig(url=f"sqlite:///{Path(tmp) / 'accounts.db'}"))
        try:
            with store.write() as s:
                n = 0
                for n, (ts, ci, mi) in enumerate(events_in_time_order(convs), 1):
                    author, risk = convs[ci].messages[mi].author, float(risks[ci][mi])
                    own[author] += 1
                    for case_id in after_append(s, convs[ci].conversation_id, [author], [risk], level_of, rule,
                                                MODEL_REF, ts):
                        # the author's own case, or (when this message gave it a counterpart) another's
                        case = s.get(CaseRow, case_id)
                        if case is not None and case.account is not None:
                            account.setdefault(case.account, own[case.account])
                    if level_of(risk) != "low":
                        best.setdefault(author, own[author])
                    if progress is not None and n % 100 == 0:
                        progress(100)
                if progress is not None:
                    progress(n % 100)
                at_review = set(s.scalars(select(AccountConversationRow.author)
                                          .where(AccountConversationRow.level != "low").distinct()))
        finally:
            store.close()
    if at_review != set(best):  # the store and this replay disagree on what reached review
        raise RuntimeError("accounts: replay and store disagree on the conversations at review")
    return Replay(best, account)


def rule_metrics(truth: Truth, flagged: dict[str, int]) -> dict[str, Any]:
    """Precision, recall, F0.5 over accounts; messages until flagged over grooming accounts."""
    predicted = {a for a in flagged if a in truth.accounts}
    tp, fp = len(predicted & truth.grooming), len(predicted - truth.grooming)
    fn = len(truth.grooming - predicted)
    precision, recall = safe_div(tp, tp + fp), safe_div(tp, tp + fn)
    negatives = len(truth.accounts) - len(truth.grooming)
    until = sorted(flagged[a] for a in predicted & truth.grooming)
    false_by_kind = Counter(truth.kinds.get(a, "untagged") for a in predicted - truth.grooming)
    return {"precision": precision, "recall": recall, "f0_5": f_beta(precision, recall, 0.5),
            "f1": f_beta(precision, recall, 1.0), "tp": tp, "fp": fp, "fn": fn,
            "false_flag_rate": safe_div(fp, negatives), "false_flags_by_kind": dict(sorted(false_by_kind.items())),
            "messages_until_flagged_median": statistics.median(until) if until else None,
            "messages_until_flagged": until, "never_flagged": fn}


def paired(truth: Truth, best: dict[str, int], account: dict[str, int]) -> dict[str, Any]:
    """Grooming accounts both rules flag: how many the account rule flags sooner, and by how much."""
    both = sorted(a for a in truth.grooming if a in best and a in account)
    gains = [best[a] - account[a] for a in both]  # > 0: the account rule needed fewer of their messages
    return {"n": len(both), "sooner": sum(g > 0 for g in gains), "same": sum(g == 0 for g in gains),
            "later": sum(g < 0 for g in gains), "median_messages_saved": statistics.median(gains) if gains else None,
            "only_account_rule": sum(a in account and a not in best for a in truth.grooming),
            "only_best_conversation": sum(a in best and a not in account for a in truth.grooming)}


def candidates(fractions: Sequence[float], review: float) -> list[float]:
    """The minimum risks tried on validation: each fraction of the review threshold, and review itself."""
    return sorted({min(f * review, 1.0) for f in fractions} | {review})  # 1.0 * review is review: no twin


def choose_min_risk(convs: Sequence[Conversation], risks: Sequence[Sequence[float]], thresholds: Thresholds,
                    rule_cfg: AccountsConfig, fractions: Sequence[float], budget: float,
                    progress: Callable[[int], None] | None = None,
                    conversations: Sequence[int] = ()) -> dict[str, Any]:
    """Replay the validation corpus once per candidate (minimum risk x rule conversations) and pick one
    (module docstring). `conversations` empty: the configured `rule_conversations` only."""
    truth = truth_of(convs)
    rows = []
    for n in sorted(set(conversations) or {rule_cfg.rule_conversations}):
        for floor in candidates(fractions, thresholds.review):
            rule = _rule(rule_cfg.model_copy(update={"rule_min_risk": floor, "rule_min_risk_fraction": None,
                                                     "rule_conversations": n}), thresholds)
            m = rule_metrics(truth, replay(convs, risks, thresholds, rule, progress).account_rule)
            rows.append({"conversations": n, "min_risk": floor,
                         **{k: m[k] for k in ("precision", "recall", "f0_5", "false_flag_rate",
                                              "messages_until_flagged_median", "never_flagged")}})
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


def _rule(rule_cfg: AccountsConfig, thresholds: Thresholds) -> AccountRule:
    rule = AccountRule.from_config(rule_cfg, thresholds.review)
    if rule is None:
        raise DataError("accounts.rule.rule_enabled is false: there is no account rule to evaluate")
    return rule


def accounts_block(test: Sequence[Conversation], test_risks: Sequence[Sequence[float]], thresholds: Thresholds,
                   rule_cfg: AccountsConfig, paths: AccountPaths, selection: dict[str, Any] | None,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The `accounts` block of metrics.json: both rules on the test corpus, the rule's minimum from
    `selection` (validation) when given, else from the config."""
    chosen = ({"rule_min_risk": selection["chosen"], "rule_min_risk_fraction": None,
               "rule_conversations": selection["chosen_conversations"]} if selection is not None else {})
    rule = _rule(rule_cfg.model_copy(update=chosen), thresholds)
    truth = truth_of(test)
    result = replay(test, test_risks, thresholds, rule, progress)
    best = rule_metrics(truth, result.best_conversation)
    acct = rule_metrics(truth, result.account_rule)
    either = {a: min(k for k in (result.best_conversation.get(a), result.account_rule.get(a)) if k is not None)
              for a in {*result.best_conversation, *result.account_rule}}
    kinds = Counter(truth.kinds.get(a, "untagged") for a in truth.accounts)
    b, a = best["messages_until_flagged_median"], acct["messages_until_flagged_median"]
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
        "target": {"f0_5_above_best_conversation": acct["f0_5"] > best["f0_5"],
                   "earlier_median": a is not None and b is not None and a < b},
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

        selection = None
        if val is not None and paths.val is not None:
            selection = choose_min_risk(val, risks(paths.val, val, "validation accounts"), thresholds, cfg.rule,
                                        cfg.min_risk_fractions, cfg.max_false_flag_rate, advance,
                                        cfg.rule_conversations_candidates)
            selection["path"] = str(paths.val)
        return accounts_block(test, risks(paths.test, test, "test accounts"), thresholds, cfg.rule, paths,
                              selection, advance)
