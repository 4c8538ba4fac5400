"""Reads of per-account aggregates (issue 25): the list by risk and one account with its conversations
and cases. Ids, counts and scores only: no message text is read here."""

from __future__ import annotations

from groomguard.serving.review.case_reads import summary
from groomguard.serving.review.errors import InvalidRequest, NotFound
from groomguard.serving.review.views import AccountConversation, AccountDetail, AccountPage, AccountSummary
from groomguard.serving.store import Store
from groomguard.serving.store import accounts as account_db
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.orm import AccountRow


def _summary(row: AccountRow, open_cases: int) -> AccountSummary:
    return AccountSummary(author=row.author, conversations=row.conversations, counterparts=row.counterparts,
                          conversations_review=row.conversations_review, conversations_high=row.conversations_high,
                          messages=row.messages, max_risk=row.max_risk, first_seen=row.first_seen,
                          last_seen=row.last_seen, open_cases=open_cases)


class AccountReads:
    """`max_conversations` bounds the conversations one account's page lists (limits.max_page_size)."""

    def __init__(self, store: Store, max_conversations: int) -> None:
        self.store = store
        self.max_conversations = max_conversations

    def list_accounts(self, limit: int, offset: int) -> AccountPage:
        """Accounts by max risk (highest first), then conversations at review, then author."""
        if limit < 1 or offset < 0:
            raise InvalidRequest("limit must be >= 1 and offset >= 0")
        with self.store.read() as s:
            rows, total = account_db.account_page(s, limit, offset)
            open_cases = account_db.open_case_counts(s, [r.author for r in rows])
        return AccountPage(items=[_summary(r, open_cases.get(r.author, 0)) for r in rows], total=total, limit=limit,
                           offset=offset)

    def get_account(self, author: str) -> AccountDetail:
        with self.store.read() as s:
            row = account_db.get_account(s, author)
            if row is None:
                raise NotFound("no such account")  # the author is not echoed: it is user-supplied
            convs = account_db.account_conversations(s, author, self.max_conversations)
            cases = account_db.account_cases(s, author)
            counts = case_db.evidence_counts(s, [c.case_id for c in cases])
            open_cases = account_db.open_case_counts(s, [author]).get(author, 0)
        return AccountDetail(
            **_summary(row, open_cases).model_dump(),
            conversation_list=[AccountConversation(conversation_id=c.conversation_id, level=c.level,  # type: ignore[arg-type]
                                                   max_risk=c.max_risk, messages=c.messages, first_seen=c.first_seen,
                                                   last_seen=c.last_seen, review_at=c.review_at) for c in convs],
            cases=[summary(c, counts.get(c.case_id, 0)) for c in cases],
        )
