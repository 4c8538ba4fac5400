"""A synthetic account story for the desk's account and long-case tests (SYNTHETIC data, vague tactics).

One adult account (`synthetic_adult`) writes in four conversations with four different children:
- `long-1`: 80 messages; the risk at each message is scripted (RISKS_LONG): low for long stretches,
  review at #30, high at #60 and #76 (all the adult's messages), so the case page has long low-risk
  stretches to fold between messages that matter;
- `short-2` (high at #4) and `short-3` (review at #2): the third conversation at review with a third
  counterpart, so the account rule (3 conversations, 3 counterparts) opens an account case;
- `quiet-4`: low throughout; it never has a case.

The risks come from a scripted scorer (one window scored per single-message append, in order), so the
pages are tested against known numbers, not a model's. The text only hints at grooming tactics
(flattery, secrecy, moving to a private app), nothing explicit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.store import AccountsConfig, RetentionConfig, StateConfig, StoreConfig, open_store
from tests.support.store import make_windower, tokenizer_path

ADULT = "synthetic_adult"
THRESHOLDS = Thresholds(review=0.5, high=0.8)
LOW, REVIEW, HIGH = 0.1, 0.6, 0.9
RISKS_LONG = [LOW] * 80
RISKS_LONG[30], RISKS_LONG[60], RISKS_LONG[76] = REVIEW, HIGH, 0.85
RISKS_SHORT_2 = [LOW, LOW, LOW, LOW, HIGH, LOW]
RISKS_SHORT_3 = [LOW, LOW, REVIEW, LOW, LOW, LOW]
RISKS_QUIET_4 = [LOW, LOW, LOW, LOW]
# Phrases by position in the adult's lines / the child's lines (synthetic, vague).
ADULT_LINES = ["that drawing was great, you have real talent", "what did you do at school today",
               "you seem more grown up than the others", "this can stay just between us",
               "lets talk on a more private app later", "did you finish the art homework"]
CHILD_LINES = ["thanks", "we had maths and art", "haha ok", "i have to go soon", "maybe", "yes i did"]
CONVERSATIONS = {  # conversation -> (child, scripted risks)
    "long-1": ("synthetic_child_1", RISKS_LONG),
    "short-2": ("synthetic_child_2", RISKS_SHORT_2),
    "short-3": ("synthetic_child_3", RISKS_SHORT_3),
    "quiet-4": ("synthetic_child_4", RISKS_QUIET_4),
}


class ScriptedScorer:
    """A WindowScorer returning the next scripted risks, one per window, in call order."""

    def __init__(self, risks: Sequence[float]) -> None:
        self.risks = list(risks)

    def __call__(self, windows: list[list[int]]) -> list[float]:
        assert len(windows) <= len(self.risks), "more windows scored than scripted"
        out, self.risks = self.risks[:len(windows)], self.risks[len(windows):]
        return out


def line(conversation: str, i: int) -> tuple[str, str]:
    """(author, text) of message i: the adult writes the even ones, the child the odd ones."""
    child, _ = CONVERSATIONS[conversation]
    if i % 2 == 0:
        return ADULT, f"{ADULT_LINES[(i // 2) % len(ADULT_LINES)]} ({conversation} #{i})"
    return child, f"{CHILD_LINES[(i // 2) % len(CHILD_LINES)]} ({conversation} #{i})"


@dataclass(frozen=True)
class Story:
    cases: dict[str, str]  # conversation -> its conversation case id (quiet-4 has none)
    account_case: str


def fill(db_url: str) -> Story:
    """Append the four conversations through the real review service (store at `db_url`)."""
    order = list(CONVERSATIONS)
    scorer = ScriptedScorer([r for conv in order for r in CONVERSATIONS[conv][1]])
    store = open_store(StoreConfig(url=db_url))
    try:
        svc = ReviewService.build(store, scorer, make_windower(tokenizer_path()), THRESHOLDS, "synthetic@1",
                                  StateConfig(tail_messages=128), RetentionConfig(),
                                  accounts=AccountsConfig(rule_conversations=3, rule_days=30))
        cases: dict[str, str] = {}
        for k, conv in enumerate(order):
            start = datetime(2025, 3, 1 + k, 18, 0, tzinfo=timezone.utc)
            for i in range(len(CONVERSATIONS[conv][1])):
                author, text = line(conv, i)
                out = svc.append_messages(conv, [Message(author=author, text=text, message_id=f"{conv}-{i}",
                                                         timestamp=start + timedelta(minutes=i))])
                if out.case_id:
                    cases[conv] = out.case_id
        assert scorer.risks == [], "every scripted risk is used exactly once"
        account = svc.get_account(ADULT)
        account_case = next(c.case_id for c in account.cases if c.kind == "account")
    finally:
        store.close()
    return Story(cases, account_case)
