"""What the case page and the escalation draft are made of, computed from a `CaseDetail`.

The risk strip is drawn server-side as SVG (no script, allowed by the page's CSP): one bar per
evidence message, height proportional to the window risk scored at it, coloured by the level that
risk reaches, with the review and high thresholds as lines; each bar links to its message (`#m-<seq>`).

Long cases (issue 25 item 4): an 80-message case used to be 80 rows with the messages that mattered
near the end. `fold_ranges` picks runs of low-risk messages to fold into one `<details>` row ("31
low-risk messages - show"): every message stays in the page, one click (or one strip bar) away, and
what a moderator must see (messages that moved the score, review/high messages and their neighbours,
the start and the end of the case) is never folded. Decided here, in Python, so it is unit-tested.

`mini_strip` is the small per-conversation strip of the account pages (risks only, never text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groomguard.scores import Thresholds, level_for
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.review.views import CaseDetail, EvidenceMessage
from groomguard.serving.store.statuses import ESCALATED

STRIP_HEIGHT = 60
BAR_WIDTH = 10
BAR_GAP = 2
INCIDENT_TYPE = "Online Enticement of Children"  # CyberTipline incident category for grooming
MINI_HEIGHT = 16  # the account pages' per-conversation strip: at most MINI_BARS bars of MINI_BAR px
MINI_BAR = 3
MINI_BARS = 40


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


def _y(risk: float, height: int = STRIP_HEIGHT) -> int:
    """The bar top for `risk` in a strip `height` pixels high (risk clipped to [0, 1])."""
    return round(height * (1.0 - max(0.0, min(1.0, risk))))


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


@dataclass(frozen=True)
class Segment:
    """A stretch of the case's messages: shown one by one, or folded behind one "show" row."""

    folded: bool
    messages: list[EvidenceMessage]

    @property
    def first_seq(self) -> int:
        return self.messages[0].seq

    @property
    def last_seq(self) -> int:
        return self.messages[-1].seq


def fold_ranges(risks: Sequence[float | None], pinned: set[int], thresholds: Thresholds, min_run: int, edges: int,
                context: int) -> list[tuple[int, int]]:
    """Index ranges (first, last; inclusive) of the messages to fold.

    `risks[i]` is the window risk scored at message i (None: not scored on its own, it arrived in a
    batch and the window of the batch's newest message covered it, so it counts with the next scored
    risk; none after it: unknown, never folded). `pinned` are indexes that moved the score. A message is
    kept in view when pinned, unknown or at review or above (and then its `context` neighbours each
    side too), or among the first/last `edges`; a run of at least `min_run` others folds (0: never)."""
    n = len(risks)
    if min_run <= 0 or n == 0:
        return []
    effective: list[float | None] = [None] * n
    later: float | None = None
    for i in range(n - 1, -1, -1):
        if risks[i] is not None:
            later = risks[i]
        effective[i] = later
    shown = [i < edges or i >= n - edges for i in range(n)]
    for i, risk in enumerate(effective):
        if i in pinned or risk is None or level_for(risk, thresholds) != "low":
            for j in range(max(0, i - context), min(n, i + context + 1)):
                shown[j] = True
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for i in range(n + 1):
        if i < n and not shown[i]:
            start = i if start is None else start
            continue
        if start is not None and i - start >= min_run:
            ranges.append((start, i - 1))
        start = None
    return ranges


def segments(detail: CaseDetail, thresholds: Thresholds, top: set[int], desk: DeskConfig) -> list[Segment]:
    """The case's messages in page order, low-risk runs folded (desk.fold_* settings)."""
    msgs = detail.messages
    pinned = {i for i, m in enumerate(msgs) if m.seq in top}
    folds = fold_ranges([m.risk for m in msgs], pinned, thresholds, desk.fold_low_risk_run,
                        desk.fold_keep_edges, desk.fold_context)
    out: list[Segment] = []
    at = 0
    for first, last in folds:
        if first > at:
            out.append(Segment(False, msgs[at:first]))
        out.append(Segment(True, msgs[first:last + 1]))
        at = last + 1
    if at < len(msgs):
        out.append(Segment(False, msgs[at:]))
    return out


@dataclass(frozen=True)
class MiniStrip:
    width: int
    height: int
    bars: list[Bar]


def mini_strip(risks: Sequence[float], thresholds: Thresholds) -> MiniStrip | None:
    """A conversation's risks as at most MINI_BARS bars (each the highest risk of its stretch, so a
    spike is never averaged away); None when nothing was scored."""
    n = len(risks)
    if n == 0:
        return None
    k = min(n, MINI_BARS)
    bars = []
    for b in range(k):
        risk = max(risks[b * n // k:max(b * n // k + 1, (b + 1) * n // k)])
        top = _y(risk, MINI_HEIGHT)
        bars.append(Bar(b, b * (MINI_BAR + 1), top, max(1, MINI_HEIGHT - top), level_for(risk, thresholds)))
    return MiniStrip(k * (MINI_BAR + 1), MINI_HEIGHT, bars)


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
