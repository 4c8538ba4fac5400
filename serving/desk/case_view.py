"""What the case page and the escalation draft are made of, computed from a `CaseDetail`.

The risk strip is drawn server-side as SVG (no script, allowed by the page's CSP): one bar per
evidence message, height proportional to the window risk scored at it, coloured by the level that
risk reaches, with the review and high thresholds as lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groomguard.scores import Thresholds, level_for
from groomguard.serving.review.views import CaseDetail
from groomguard.serving.store.statuses import ESCALATED

STRIP_HEIGHT = 60
BAR_WIDTH = 10
BAR_GAP = 2
INCIDENT_TYPE = "Online Enticement of Children"  # CyberTipline incident category for grooming


@dataclass(frozen=True)
class Bar:
    seq: int
    x: int
    y: int
    height: int
    level: str  # low | review | high | unscored


@dataclass(frozen=True)
class Strip:
    width: int
    height: int
    bars: list[Bar]
    review_y: int
    high_y: int


def _y(risk: float) -> int:
    return round(STRIP_HEIGHT * (1.0 - max(0.0, min(1.0, risk))))


def risk_strip(detail: CaseDetail, thresholds: Thresholds) -> Strip:
    bars = []
    for i, m in enumerate(detail.messages):
        x = i * (BAR_WIDTH + BAR_GAP)
        if m.risk is None:
            bars.append(Bar(m.seq, x, STRIP_HEIGHT - 2, 2, "unscored"))
            continue
        top = _y(m.risk)
        bars.append(Bar(m.seq, x, top, max(1, STRIP_HEIGHT - top), level_for(m.risk, thresholds)))
    width = max(BAR_WIDTH, len(bars) * (BAR_WIDTH + BAR_GAP))
    return Strip(width, STRIP_HEIGHT, bars, _y(thresholds.review), _y(thresholds.high))


def top_seqs(detail: CaseDetail) -> set[int]:
    """Messages whose removal lowers the newest window's risk: the ones that drove the score."""
    return {t.seq for t in detail.top_messages if t.delta > 0}


def report_draft(detail: CaseDetail, thresholds: Thresholds, generated_by: str, now: datetime) -> dict[str, Any]:
    """A CyberTipline-style report draft (JSON). Marked DRAFT; groomguard never sends it anywhere:
    a person reviews it, completes the fields it cannot know and files it through the platform's
    own reporting process."""
    stamps = [m.timestamp for m in detail.messages if m.timestamp is not None]
    accounts: dict[str, str | None] = {}
    for m in detail.messages:
        accounts.setdefault(m.author, m.role)
    escalated = [a for a in detail.audit if a.action == f"decision:{ESCALATED}"]
    return {
        "status": "DRAFT",
        "notice": "DRAFT - not sent. Review and complete before filing through your reporting process.",
        "sent": False,
        "generated_at": now.isoformat(),
        "generated_by": generated_by,
        "incident": {
            "type": INCIDENT_TYPE,
            "first_message_at": min(stamps).isoformat() if stamps else None,
            "last_message_at": max(stamps).isoformat() if stamps else None,
            "detected_at": detail.opened_at.isoformat(),
            "escalated_at": escalated[-1].at.isoformat() if escalated else None,
        },
        "platform_reference": {"case_id": detail.case_id, "conversation_id": detail.conversation_id},
        "reported_accounts": [{"account_id": who, "conversation_role": role,
                               "suspected": None} for who, role in accounts.items()],
        "evidence": [{"message_id": m.message_id, "account_id": m.author, "timestamp":
                      m.timestamp.isoformat() if m.timestamp else None, "text": m.text,
                      "risk": m.risk} for m in detail.messages],
        "reviewer_notes": [{"by": a.actor, "action": a.action, "at": a.at.isoformat(), "note": a.note}
                           for a in detail.audit if a.note],
        "detection": {"model": detail.model, "max_risk": detail.max_risk, "level": detail.level,
                      "thresholds": {"review": thresholds.review, "high": thresholds.high}},
    }
