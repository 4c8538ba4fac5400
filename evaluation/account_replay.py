"""Replaying an account corpus in time order (evaluation/accounts.py says what is measured and why):
who the accounts are, when each rule flags them, and account-level precision, recall and F0.5.

`replay` runs every message through the SERVED code (`serving/store/accounts.after_append`) on a
temporary SQLite store; `first_reaching` is the best single conversation at any threshold, which
needs no store. Both count an account's own messages across its conversations until it is flagged.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from groomguard.errors import DataError
from groomguard.evaluation.metrics import f_beta, safe_div
from groomguard.schema import Conversation
from groomguard.scores import Thresholds, level_for
from groomguard.serving.store import StoreConfig, open_store
from groomguard.serving.store.account_rule import AccountRule
from groomguard.serving.store.accounts import after_append
from groomguard.serving.store.orm import AccountConversationRow, CaseRow, utc

MODEL_REF = "evaluation"  # written on the replay's (temporary) account cases


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
    (one transaction: nothing else writes it). The best-conversation flag is `first_reaching` at review
    (where the stored level of that conversation rises from low), checked against the store's rows."""
    def level_of(r: float) -> str:
        return level_for(r, thresholds)

    own: Counter[str] = Counter()
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
                    if progress is not None and n % 100 == 0:
                        progress(100)
                if progress is not None:
                    progress(n % 100)
                at_review = set(s.scalars(select(AccountConversationRow.author)
                                          .where(AccountConversationRow.level != "low").distinct()))
        finally:
            store.close()
    best = first_reaching(convs, risks, thresholds.review)
    if at_review != set(best):  # the store and this reading disagree on what reached review
        raise RuntimeError("accounts: replay and store disagree on the conversations at review")
    return Replay(best, account)


def first_reaching(convs: Sequence[Conversation], risks: Sequence[Sequence[float]],
                   threshold: float) -> dict[str, int]:
    """Per author, their own messages in time order up to the first whose risk reaches `threshold`:
    the best single conversation at that threshold, without a store (`replay` reads its
    `best_conversation` here at review, and checks it against the store's levels)."""
    own: Counter[str] = Counter()
    out: dict[str, int] = {}
    for _, ci, mi in events_in_time_order(convs):
        author = convs[ci].messages[mi].author
        own[author] += 1
        if author not in out and float(risks[ci][mi]) >= threshold:
            out[author] = own[author]
    return out


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

