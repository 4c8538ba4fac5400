"""Routing of conversations scored whole (`/v1/score` with route=true) into review cases.

`Routing` is the part of `ReviewService` (serving/review/service.py) that copies a scored
conversation into its case. Its request was checked by the route that scored it
(serving/review/request_limits.py `check_conversations`); streaming appends open cases in appends.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError, OperationalError

from groomguard.schema import Conversation
from groomguard.scores import Level, Thresholds, level_for
from groomguard.serving.review.errors import InvalidRequest
from groomguard.serving.store import StateConfig, Store, StoreError, StoreFull, is_disk_full
from groomguard.serving.store import cases as case_db
from groomguard.serving.store.db import MAX_TRANSIENT_RETRIES
from groomguard.serving.store.orm import utc
from groomguard.windowing import assign_roles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteOutcome:
    """What `/v1/score` with route=true did for one conversation."""

    case_id: str | None
    opened: bool


class Routing:
    def __init__(self, store: Store, thresholds: Thresholds, model_ref: str, state: StateConfig) -> None:
        self.store = store
        self.thresholds = thresholds
        self.model_ref = model_ref
        self.state = state

    def _level(self, risk: float) -> Level:
        return level_for(risk, self.thresholds)

    def route_scored(self, conv: Conversation, risk_by_message: list[float]) -> RouteOutcome:
        """Open or update a case from a conversation scored whole.

        Nothing is written unless the conversation's max risk reaches the review threshold. Messages
        already in the case (same message_id, else same author/text/timestamp) are not copied twice.
        """
        if len(risk_by_message) != len(conv.messages):
            raise InvalidRequest("risk_by_message must have one risk per message")
        max_risk = max(risk_by_message)
        if max_risk < self.thresholds.review:
            return RouteOutcome(None, False)
        roles = assign_roles(conv.messages)
        for attempt in range(MAX_TRANSIENT_RETRIES + 1):
            try:
                with self.store.write() as s:
                    case = case_db.active_case(s, conv.conversation_id, lock=True)
                    known = case_db.known_evidence_keys(s, case.case_id) if case is not None else set()
                    evidence = [
                        case_db.EvidenceIn(i, m.message_id, m.author, m.text, utc(m.timestamp), risk_by_message[i])
                        for i, m in enumerate(conv.messages)
                        if (("id", m.message_id) if m.message_id else ("m", m.author, m.text, utc(m.timestamp)))
                        not in known
                    ]
                    last = len(conv.messages) - 1
                    opened = case is None
                    if case is None:
                        case = case_db.open_case(
                            s, conv.conversation_id, points=[(last, risk_by_message[last])],
                            level=self._level(max_risk), model_ref=self.model_ref, roles=roles, evidence=evidence,
                            evidence_cap=self.state.case_evidence_messages,
                            history_cap=self.state.max_score_history)
                        case.max_risk = max_risk
                    elif evidence:
                        case_db.update_case(s, case, points=[(last, risk_by_message[last])], level_of=self._level,
                                            roles=roles, evidence=evidence,
                                            evidence_cap=self.state.case_evidence_messages,
                                            history_cap=self.state.max_score_history)
                        case.max_risk = max(case.max_risk, max_risk)
                        case.level = self._level(case.max_risk)
                    case_id = case.case_id
                if opened:
                    log.info("case %s opened for conversation %r (routed score)", case_id, conv.conversation_id)
                return RouteOutcome(case_id, opened)
            except (IntegrityError, OperationalError) as exc:
                if is_disk_full(exc):  # not a conflict: retrying at once cannot help
                    raise StoreFull(f"routing conversation {conv.conversation_id!r} failed: the database or its "
                                    "disk is full") from None
                if attempt == MAX_TRANSIENT_RETRIES:
                    raise StoreError(f"routing conversation {conv.conversation_id!r} failed: "
                                     f"{exc.__class__.__name__}") from None
        raise AssertionError("unreachable")
