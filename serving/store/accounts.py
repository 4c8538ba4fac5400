"""Per-account (per message author) aggregates, kept inside each append's transaction (issue 25).

Why rows per (author, conversation) and per (author, counterpart): an append only knows the
conversation it holds the lock of. The (author, conversation) row says what this conversation already
counted for the author (present? at review? at high?), so the `accounts` row moves by an exact delta
(levels only rise); the (author, counterpart) pair set makes "distinct counterparts" an
INSERT ... ON CONFLICT DO NOTHING whose inserted rows are the delta. No append reads the author's
other conversations, so its cost does not grow with the author's history.

An author's risk in a conversation is the highest risk of the windows ending at their own messages.
Retention (`forget_conversations`) removes a purged conversation's rows and recomputes the affected
accounts from what remains, so nothing about it survives in any count.

Statements an append adds: one SELECT of the conversation's author rows, one INSERT or UPDATE per
author of the request, one multi-row upsert of the account rows; plus one INSERT of counterpart pairs
when a new author joins the conversation, and the account rule's queries when an author's risk in this
conversation first reaches the rule's minimum (`AccountRule.min_risk`), or when someone new joins a
conversation where an author already is at it: the SELECT of the author rows already holds the old
maximum, so telling either costs no query.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, case, delete, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from groomguard.serving.store.account_rule import RANK, AccountRule, apply_rule, crossed
from groomguard.serving.store.db import dialect_insert
from groomguard.serving.store.orm import (
    AccountConversationRow,
    AccountCounterpartRow,
    AccountRow,
    CaseLinkRow,
    CaseRow,
)
from groomguard.serving.store.statuses import ACCOUNT_KIND, ACTIVE_STATUSES

# The tables behind the ORM rows, for the Core statements of the per-append path (declarative
# `__table__` is typed as a FromClause; it is a Table).
_ACCOUNTS = cast(Table, AccountRow.__table__)
_ACCOUNT_CONVERSATIONS = cast(Table, AccountConversationRow.__table__)


def record_append(session: Session, conversation_id: str, risks_by_author: dict[str, list[float]],
                  level_of: Callable[[float], str], now: datetime,
                  rule_min: float | None = None) -> list[tuple[str, bool]]:
    """Fold one append (each author's new window risks) into the aggregates; the caller holds the
    conversation's lock. Returns the authors the account rule (minimum `rule_min`; None: no rule, none
    returned) must look at again, each with True when their risk here first reached the minimum, False
    when they were already at it and a newcomer just joined (a new counterpart for the rule to count:
    an account that writes first reaches the minimum before the child has answered)."""
    if not risks_by_author:
        return []
    # Core statements on the session's connection (same transaction): the ORM's bulk-statement layer
    # cost more than the statements themselves on this per-append path (benchmarks/code_ab.py).
    conn = session.connection()
    acr = _ACCOUNT_CONVERSATIONS.c
    existing = {r.author: r for r in conn.execute(
        select(acr.author, acr.max_risk, acr.level).where(acr.conversation_id == conversation_id))}
    authors = sorted(risks_by_author)
    gained: Counter[str] = Counter()
    joined = [a for a in authors if a not in existing]
    if joined:
        everyone = sorted(set(existing) | set(authors))
        pairs = [{"author": a, "counterpart": b} for a in everyone for b in everyone
                 if a != b and (a in joined or b in joined)]
        if pairs:
            upsert = dialect_insert(session.get_bind().dialect.name)
            ins = upsert(AccountCounterpartRow).values(pairs).on_conflict_do_nothing(
                index_elements=["author", "counterpart"]).returning(AccountCounterpartRow.author)
            gained.update(session.scalars(ins))
    deltas: dict[str, dict[str, Any]] = {}
    reached: list[tuple[str, bool]] = []
    if rule_min is not None and joined:
        reached += [(a, False) for a, r in sorted(existing.items()) if r.max_risk >= rule_min]
    new_rows: list[dict[str, Any]] = []
    for a in authors:
        rs = risks_by_author[a]
        top = max(rs)
        old = existing.get(a)
        old_rank = RANK[old.level] if old is not None else 0
        best = max(top, old.max_risk) if old is not None else top
        level = level_of(best)
        rank = RANK[level]
        if rule_min is not None and crossed(old.max_risk if old is not None else None, best, rule_min):
            reached.append((a, True))
        review_at = now if old_rank < 1 <= rank else None
        if old is None:
            new_rows.append({"author": a, "conversation_id": conversation_id, "messages": len(rs), "max_risk": best,
                             "level": level, "first_seen": now, "last_seen": now, "review_at": review_at})
        else:
            values: dict[str, Any] = {"messages": acr.messages + len(rs), "max_risk": best, "level": level,
                                      "last_seen": now}
            if review_at is not None:
                values["review_at"] = review_at
            conn.execute(update(_ACCOUNT_CONVERSATIONS)
                         .where(acr.author == a, acr.conversation_id == conversation_id).values(**values))
        deltas[a] = {"author": a, "conversations": int(old is None), "counterparts": gained.get(a, 0),
                     "conversations_review": int(old_rank < 1 <= rank), "conversations_high": int(old_rank < 2 <= rank),
                     "messages": len(rs), "max_risk": top, "first_seen": now, "last_seen": now}
    if new_rows:
        conn.execute(insert(_ACCOUNT_CONVERSATIONS), new_rows)
    for a, n in gained.items():  # existing participants who met a newcomer: counterparts only
        if a not in deltas:
            deltas[a] = {"author": a, "conversations": 0, "counterparts": n, "conversations_review": 0,
                         "conversations_high": 0, "messages": 0, "max_risk": 0.0, "first_seen": now,
                         "last_seen": now}
    _add_to_accounts(session, [deltas[a] for a in sorted(deltas)])
    return reached


@cache
def _account_upsert(dialect: str) -> Any:
    """The accounts upsert, built once per dialect: counters add the deltas, max_risk only rises,
    last_seen moves for authors who wrote. Rows come as parameters, so the compiled form is reused."""
    ins = dialect_insert(dialect)(_ACCOUNTS)
    ex = ins.excluded
    t = _ACCOUNTS.c
    return ins.on_conflict_do_update(index_elements=["author"], set_={
        "conversations": t.conversations + ex.conversations,
        "counterparts": t.counterparts + ex.counterparts,
        "conversations_review": t.conversations_review + ex.conversations_review,
        "conversations_high": t.conversations_high + ex.conversations_high,
        "messages": t.messages + ex.messages,
        "max_risk": case((ex.max_risk > t.max_risk, ex.max_risk), else_=t.max_risk),
        "last_seen": case((ex.messages > 0, ex.last_seen), else_=t.last_seen),
    })


def _add_to_accounts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The account rows' deltas, authors in sorted order (so concurrent appends lock account rows in
    the same order)."""
    session.connection().execute(_account_upsert(session.get_bind().dialect.name), list(rows))


def after_append(session: Session, conversation_id: str, authors: Sequence[str], risks: Sequence[float],
                 level_of: Callable[[float], str], rule: AccountRule | None, model_ref: str,
                 now: datetime) -> list[str]:
    """The append's account work (`authors[i]` wrote the message whose window scored `risks[i]`):
    aggregates, then the account rule for each author whose risk here just reached `rule.min_risk`.
    Returns the ids of account cases opened."""
    by_author: dict[str, list[float]] = {}
    for a, r in zip(authors, risks, strict=True):
        by_author.setdefault(a, []).append(r)
    if rule is None:  # aggregates only
        record_append(session, conversation_id, by_author, level_of, now)
        return []
    opened: list[str] = []
    for author, crossed_here in record_append(session, conversation_id, by_author, level_of, now, rule.min_risk):
        case, new = apply_rule(session, author, conversation_id, rule, model_ref, now, link=crossed_here)
        if new and case is not None:
            opened.append(case.case_id)
    return opened


# -- reads ---------------------------------------------------------------------------------------------
def get_account(session: Session, author: str) -> AccountRow | None:
    return session.get(AccountRow, author)


def account_page(session: Session, limit: int, offset: int) -> tuple[list[AccountRow], int]:
    """Accounts by max risk (highest first), then conversations at review, then author; and the total."""
    total = session.scalar(select(func.count()).select_from(AccountRow)) or 0
    rows = list(session.scalars(select(AccountRow).order_by(
        AccountRow.max_risk.desc(), AccountRow.conversations_review.desc(), AccountRow.author)
        .limit(limit).offset(offset)))
    return rows, int(total)


def _of_author(author: str, exclude: Collection[str]) -> list[Any]:
    acr = AccountConversationRow
    where = [acr.author == author]
    if exclude:
        where.append(acr.conversation_id.not_in(sorted(exclude)))
    return where


def account_conversations(session: Session, author: str, limit: int,
                          exclude: Collection[str] = ()) -> list[AccountConversationRow]:
    """The author's conversations (but `exclude`), highest risk first, at most `limit`."""
    acr = AccountConversationRow
    return list(session.scalars(select(acr).where(*_of_author(author, exclude))
                                .order_by(acr.max_risk.desc(), acr.conversation_id).limit(limit)))


def count_account_conversations(session: Session, author: str, exclude: Collection[str] = ()) -> int:
    return int(session.scalar(select(func.count()).select_from(AccountConversationRow)
                              .where(*_of_author(author, exclude))) or 0)


def account_cases(session: Session, author: str) -> list[CaseRow]:
    """The author's account cases and the conversation cases of their conversations."""
    acr = AccountConversationRow
    theirs = select(acr.conversation_id).where(acr.author == author)
    stmt = select(CaseRow).where(((CaseRow.kind == ACCOUNT_KIND) & (CaseRow.account == author))
                                 | ((CaseRow.kind != ACCOUNT_KIND) & CaseRow.conversation_id.in_(theirs)))
    return list(session.scalars(stmt.order_by(CaseRow.max_risk.desc(), CaseRow.opened_at.desc(), CaseRow.case_id)))


def open_case_counts(session: Session, authors: Sequence[str]) -> dict[str, int]:
    """Active cases per author (account cases + cases of their conversations), for a page of accounts."""
    if not authors:
        return {}
    acr = AccountConversationRow
    active = CaseRow.status.in_(ACTIVE_STATUSES)
    counts: Counter[str] = Counter()
    for a, n in session.execute(select(acr.author, func.count()).join(CaseRow, CaseRow.conversation_id ==
                                                                      acr.conversation_id)
                                .where(acr.author.in_(list(authors)), active, CaseRow.kind != ACCOUNT_KIND)
                                .group_by(acr.author)):
        counts[a] += int(n)
    for account, n in session.execute(select(CaseRow.account, func.count()).where(
            CaseRow.kind == ACCOUNT_KIND, CaseRow.account.in_(list(authors)), active).group_by(CaseRow.account)):
        counts[str(account)] += int(n)
    return dict(counts)


def case_links(session: Session, case_id: str) -> list[str]:
    return list(session.scalars(select(CaseLinkRow.conversation_id).where(CaseLinkRow.case_id == case_id)
                                .order_by(CaseLinkRow.conversation_id)))


# -- retention -------------------------------------------------------------------------------------------
def forget_conversations(session: Session, conversation_ids: Sequence[str]) -> None:
    """A purged conversation leaves no trace in any account: its (author, conversation) rows and case
    links go, and the affected accounts are recomputed from their remaining rows (counterpart pairs
    rebuilt from the conversations they still share; an account with none left is removed)."""
    if not conversation_ids:
        return
    ids = list(conversation_ids)
    acr = AccountConversationRow
    affected = sorted(set(session.scalars(select(acr.author).where(acr.conversation_id.in_(ids)))))
    session.execute(delete(CaseLinkRow).where(CaseLinkRow.conversation_id.in_(ids)))
    if not affected:
        return
    # lock the accounts first (sorted, like appends): a concurrent append then adds its delta after us
    list(session.scalars(select(AccountRow.author).where(AccountRow.author.in_(affected))
                         .order_by(AccountRow.author).with_for_update()))
    session.execute(delete(acr).where(acr.conversation_id.in_(ids)))
    cp = AccountCounterpartRow
    session.execute(delete(cp).where(cp.author.in_(affected)))
    me, other = aliased(AccountConversationRow), aliased(AccountConversationRow)
    shared = (select(me.author, other.author).distinct()
              .join(other, (other.conversation_id == me.conversation_id) & (other.author != me.author))
              .where(me.author.in_(affected)))
    session.execute(insert(cp).from_select(["author", "counterpart"], shared))
    sums = {r.author: r for r in session.execute(
        select(acr.author, func.count().label("n"),
               func.sum(case((acr.level != "low", 1), else_=0)).label("review"),
               func.sum(case((acr.level == "high", 1), else_=0)).label("high"),
               func.sum(acr.messages).label("messages"), func.max(acr.max_risk).label("max_risk"),
               func.min(acr.first_seen).label("first_seen"), func.max(acr.last_seen).label("last_seen"))
        .where(acr.author.in_(affected)).group_by(acr.author))}
    met = {a: int(n) for a, n in session.execute(
        select(cp.author, func.count()).where(cp.author.in_(affected)).group_by(cp.author))}
    gone = [a for a in affected if a not in sums]
    if gone:
        session.execute(delete(AccountRow).where(AccountRow.author.in_(gone)))
    for a, r in sums.items():
        session.execute(update(AccountRow).where(AccountRow.author == a).values(
            conversations=int(r.n), counterparts=int(met.get(a, 0)), conversations_review=int(r.review),
            conversations_high=int(r.high), messages=int(r.messages), max_risk=float(r.max_risk),
            first_seen=r.first_seen, last_seen=r.last_seen))

