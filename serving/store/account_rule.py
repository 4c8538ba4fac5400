"""The account rule (issue 25; docs/design.md "Accounts"): when an author's risk in a conversation first
reaches `AccountRule.min_risk` (or someone new joins a conversation where it already has), count the
author's conversations at that risk they wrote in within `days`; with >= `conversations` of them and
as many distinct counterparts, open an ACCOUNT case linking them (no message copied), else link the
conversation to the author's active account case.

One implementation: serving/store/accounts.py `after_append` calls it in each append's transaction,
and `groomguard evaluate --accounts` (evaluation/accounts.py) replays a corpus through that same
`after_append`. The aggregates it reads are kept by serving/store/accounts.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, aliased

from groomguard.serving.store import cases as case_db
from groomguard.serving.store.config import AccountsConfig
from groomguard.serving.store.db import dialect_insert
from groomguard.serving.store.orm import AccountConversationRow, CaseLinkRow, CaseRow
from groomguard.serving.store.statuses import ACCOUNT_KIND, ACTIVE_STATUSES, OPEN

RANK = {"low": 0, "review": 1, "high": 2}


def crossed(before: float | None, after: float, floor: float) -> bool:
    """Did an author's running maximum in a conversation just reach `floor`? (None: first message)."""
    return (before is None or before < floor) and after >= floor


@dataclass(frozen=True)
class AccountRule:
    """>= `conversations` conversations where the author's risk reached `min_risk`, active (the author
    wrote in them) within `days`, with >= that many distinct counterparts.

    Why a minimum of its own: at the review threshold the rule can only fire after several conversation
    cases already exist, so it never flags an account sooner than its worst conversation does. An
    account whose conversations are each below review but together are not needs a lower bar
    (`accounts.rule_min_risk`; None there = the review threshold, the rule as first shipped).
    """

    conversations: int
    days: float
    min_risk: float

    @classmethod
    def from_config(cls, accounts: AccountsConfig, review: float) -> AccountRule | None:
        """The served rule from the `accounts:` settings and the bundle's review threshold; None when
        off. Serving and `groomguard evaluate --accounts` both build it here."""
        if not accounts.rule_enabled:
            return None
        if accounts.rule_min_risk is not None:
            floor = accounts.rule_min_risk
        else:
            floor = min_risk_for(accounts.rule_min_risk_fraction or 1.0, review)
        return cls(accounts.rule_conversations, accounts.rule_days, floor)


def min_risk_for(fraction: float, review: float) -> float:
    """The rule's minimum risk for a fraction of the review threshold, capped at a risk of 1 (a fraction
    above 1 asks for more than review). Serving and the validation candidates both compute it here."""
    return min(fraction * review, 1.0)


def rule_counts(session: Session, author: str, since: datetime, min_risk: float) -> tuple[list[str], int]:
    """The author's conversations at risk >= `min_risk` that they wrote in since `since`, and how many
    distinct other authors those conversations have (run only when a conversation first crosses)."""
    me, other = AccountConversationRow, aliased(AccountConversationRow)
    convs = list(session.scalars(select(me.conversation_id).where(me.author == author, me.max_risk >= min_risk,
                                                                  me.last_seen >= since)
                                 .order_by(me.conversation_id)))
    if not convs:
        return [], 0
    n = session.scalar(select(func.count(func.distinct(other.author)))
                       .where(other.conversation_id.in_(convs), other.author != author)) or 0
    return convs, int(n)


def apply_rule(session: Session, author: str, conversation_id: str, rule: AccountRule, model_ref: str,
               now: datetime, link: bool = True) -> tuple[CaseRow | None, bool]:
    """After the author's risk in `conversation_id` reached the rule's minimum (`link`), or a newcomer
    joined it while the author was at it (not `link`): link it to the author's active account case
    (when it just reached it; otherwise it was linked then, or when the case opened), or open one
    when the rule holds. Returns (case or None, opened)."""
    active = session.scalars(select(CaseRow).where(CaseRow.kind == ACCOUNT_KIND, CaseRow.account == author,
                                                   CaseRow.status.in_(ACTIVE_STATUSES)).with_for_update()).first()
    if active is not None and not link:
        return active, False
    acr = AccountConversationRow
    mine = session.execute(select(acr.max_risk, acr.level).where(acr.author == author,
                                                                 acr.conversation_id == conversation_id)).one()
    if active is not None:
        upsert = dialect_insert(session.get_bind().dialect.name)
        row = upsert(CaseLinkRow).values(case_id=active.case_id, conversation_id=conversation_id)
        session.execute(row.on_conflict_do_nothing(index_elements=["case_id", "conversation_id"]))
        active.max_risk = max(active.max_risk, mine.max_risk)
        if RANK[mine.level] > RANK[active.level]:
            active.level = mine.level
        active.updated_at = now
        case_db.audit(session, "account:linked", "system", active.case_id, detail={"conversation": conversation_id},
                      at=now)
        return active, False
    convs, counterparts = rule_counts(session, author, now - timedelta(days=rule.days), rule.min_risk)
    if len(convs) < rule.conversations or counterparts < rule.conversations:
        return None, False
    rows = session.execute(select(acr.max_risk, acr.level).where(acr.author == author,
                                                                 acr.conversation_id.in_(convs))).all()
    top = max(r.max_risk for r in rows)
    # below review each, the rule itself is what asks for a review: an account case is never "low"
    level = max(["review", *(r.level for r in rows)], key=RANK.__getitem__)
    new = CaseRow(case_id=case_db.new_case_id(), conversation_id=conversation_id, kind=ACCOUNT_KIND, account=author,
                  status=OPEN, level=level, risk=mine.max_risk, max_risk=top, model_ref=model_ref, roles={},
                  opened_at=now, updated_at=now, evidence_version=0)
    session.add(new)
    session.flush()  # the partial unique index fires here if another active account case exists
    session.execute(insert(CaseLinkRow), [{"case_id": new.case_id, "conversation_id": c} for c in convs])
    case_db.audit(session, "opened", "system", new.case_id, at=now, detail={
        "rule": "account", "conversations": len(convs), "counterparts": counterparts, "days": rule.days,
        "min_risk": round(rule.min_risk, 6), "risk": round(top, 6), "model": model_ref})
    return new, True
