"""Can an account rule flag serial contact SOONER than its worst conversation? (issue 25's second target)

The served account rule (serving/store/account_rule.py) counts an author's conversations whose risk
reached a minimum. `groomguard evaluate --accounts` measures it and chooses its minimum on validation
accounts; at every minimum it tried, it flagged no grooming account sooner than the best single
conversation did (docs/model-development.md "Accounts"). This script asks whether another family of
account rule would, by replaying the account corpora in time order on cached window risks:

- `count`: >= k conversations, each with the author's risk >= f x review (the served family);
- `top_sum`: the sum of the author's k highest conversation risks >= s x review, so one strong and
  one weaker conversation together can flag (the issue's "combined score over the account's
  conversations").

Every rule counts only conversations the author wrote in within `--days` and needs as many distinct
counterparts as conversations, as served. Each family's parameter is chosen on the VALIDATION accounts
the way `evaluate --accounts` chooses the served one (highest F0.5 with at most `--budget` of the
non-grooming accounts flagged, ties to the sooner rule), then measured on the test accounts beside
the best single conversation.

    groomguard data synth-accounts -n 240 --seed 21 --pool-half B -o data/accounts-val.jsonl
    groomguard data synth-accounts -n 60 --seed 22 --pool-half B -o data/accounts-test.jsonl
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.account_rules --bundle models/bundles/demo \
        -o reports/account-rules.json

The `count` family here is a second implementation of the served rule; on the same risks it flags the
same accounts at the same messages as `evaluate --accounts`' replay through the store
(tests/test_account_rules.py), so the other family is compared on equal terms.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from groomguard.evaluation.account_replay import Truth, events_in_time_order, rule_metrics, truth_of
from groomguard.evaluation.account_selection import best_within_budget
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation


@dataclass
class Seen:
    """One author's state in one conversation during the replay."""

    conversation_id: str
    max_risk: float = 0.0
    last_seen: datetime | None = None


# An account rule gets the author's active conversations (highest risk first) and the review threshold,
# and returns the conversations it rests on when it holds (they must have >= k distinct counterparts
# between them, as served), else None.
Rule = Callable[[list[Seen], float], list[Seen] | None]


def count_rule(k: int, fraction: float) -> Rule:
    """The served family: the conversations at >= fraction x review, when there are >= k of them."""
    def rule(ranked: list[Seen], review: float) -> list[Seen] | None:
        at = [s for s in ranked if s.max_risk >= fraction * review]
        return at if len(at) >= k else None
    return rule


def top_sum_rule(k: int, multiple: float) -> Rule:
    """The k highest conversation risks, when their sum reaches multiple x review."""
    def rule(ranked: list[Seen], review: float) -> list[Seen] | None:
        top = ranked[:k]
        return top if len(top) >= k and sum(s.max_risk for s in top) >= multiple * review else None
    return rule


FAMILIES: dict[str, list[tuple[dict[str, Any], int, Rule]]] = {
    "count": [({"k": k, "fraction": f}, k, count_rule(k, f))
              for k in (2, 3) for f in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)],
    "top_sum": [({"k": k, "multiple": m}, k, top_sum_rule(k, m))
                for k in (2, 3) for m in (1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.7, 3.0)],
}


def replay_rule(convs: Sequence[Conversation], risks: Sequence[Sequence[float]], review: float, rule: Rule,
                k: int, days: float) -> tuple[dict[str, int], dict[str, int]]:
    """(best single conversation, account rule): per flagged author, their own messages until flagged.
    An author's risk in a conversation is the highest risk of the windows ending at their own messages."""
    own: Counter[str] = Counter()
    seen: dict[str, dict[str, Seen]] = {}
    members: dict[str, set[str]] = {}  # conversation -> who has written in it so far
    best: dict[str, int] = {}
    account: dict[str, int] = {}
    for ts, ci, mi in events_in_time_order(convs):
        cid = convs[ci].conversation_id
        author, risk = convs[ci].messages[mi].author, float(risks[ci][mi])
        own[author] += 1
        mine = seen.setdefault(author, {}).setdefault(cid, Seen(cid))
        mine.max_risk, mine.last_seen = max(mine.max_risk, risk), ts
        members.setdefault(cid, set()).add(author)
        if risk >= review:
            best.setdefault(author, own[author])
        # the writer, and whoever this message may have given a counterpart (the others in the conversation)
        for holder in members[cid] - set(account):
            since = ts - timedelta(days=days)
            active = sorted((s for s in seen[holder].values() if s.last_seen is not None and s.last_seen >= since),
                            key=lambda s: -s.max_risk)
            support = rule(active, review)
            if support is not None and len(set().union(*(members[s.conversation_id] for s in support)) - {holder}) >= k:
                account[holder] = own[holder]
    return best, account


def choose(val: tuple[Truth, Sequence[Conversation], Sequence[Sequence[float]]], review: float,
           family: list[tuple[dict[str, Any], int, Rule]], days: float, budget: float) -> list[dict[str, Any]]:
    """Every candidate on validation; the chosen one is marked (module docstring's rule)."""
    truth, convs, risks = val
    rows = []
    for params, k, rule in family:
        m = rule_metrics(truth, replay_rule(convs, risks, review, rule, k, days)[1])
        rows.append({**params, "chosen": False,
                     **{k: m[k] for k in ("f0_5", "false_flag_rate", "messages_until_flagged_median")}})
    chosen = best_within_budget(rows, budget)  # the served selection rule (evaluation/account_selection.py)
    if chosen is not None:
        chosen["chosen"] = True
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--val", type=Path, default=Path("data/accounts-val.jsonl"))
    ap.add_argument("--test", type=Path, default=Path("data/accounts-test.jsonl"))
    ap.add_argument("--days", type=float, default=30.0, help="conversations active within this many days")
    ap.add_argument("--budget", type=float, default=0.05, help="most non-grooming validation accounts flagged")
    ap.add_argument("-o", "--output", type=Path, default=Path("reports/account-rules.json"))
    args = ap.parse_args(argv)

    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig

    engine = build_engine(str(args.bundle), EngineConfig(providers=["CPUExecutionProvider"]))
    review = engine.thresholds.review
    scored = {}
    for name, path in (("val", args.val), ("test", args.test)):
        convs = list(iter_jsonl(path))
        risks = [s.risk_by_message for s in engine.score_conversations(convs)]
        scored[name] = (truth_of(convs), convs, risks)
        print(f"scored {name}: {len(convs)} conversations", flush=True)
    engine.close()

    truth, convs, risks = scored["test"]
    best = rule_metrics(truth, replay_rule(convs, risks, review, count_rule(2, 1.0), 2, args.days)[0])
    out: dict[str, Any] = {"bundle": str(args.bundle), "review": review, "best_conversation": best, "families": {}}
    print(f"best single conversation (test): F0.5 {best['f0_5']:.3f}, false flags {best['fp']}, "
          f"median messages until flagged {best['messages_until_flagged_median']}")
    for name, family in FAMILIES.items():
        rows = choose(scored["val"], review, family, args.days, args.budget)
        test: dict[str, Any] | None = None
        for (params, k, rule), row in zip(family, rows, strict=True):
            if row["chosen"]:
                test = rule_metrics(truth, replay_rule(convs, risks, review, rule, k, args.days)[1])
                print(f"{name} {params}: test F0.5 {test['f0_5']:.3f}, false flags {test['fp']}, "
                      f"median {test['messages_until_flagged_median']}")
        out["families"][name] = {"validation": rows, "test": test}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
