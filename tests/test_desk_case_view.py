"""The long case page's folding and the account pages' small strips (serving/desk/case_view.py), against
hand-worked expectations: which low-risk stretches fold, and that every message stays in the page."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from groomguard.scores import Thresholds
from groomguard.serving.desk.case_view import fold_ranges, mini_strip, segments
from groomguard.serving.desk.config import DeskConfig
from groomguard.serving.review.views import CaseDetail, EvidenceMessage, MessageInfluence

TH = Thresholds(review=0.5, high=0.8)
AT = datetime(2025, 3, 1, tzinfo=timezone.utc)


def test_an_80_message_case_folds_exactly_the_long_low_stretches() -> None:
    """Worked by hand (edges 2, context 1, runs of 8+): kept in view are #0-1 and #78-79 (edges), #11-13
    (#12 moved the score, and its neighbours), #39-42 (#40 review, #41 high and moved the score), #74-76
    (#75 review). Between them: #2-10 (9: folds), #14-38 (25), #43-73 (31: the issue's "31 low-risk
    messages"), #77 (1: too short, shown)."""
    risks: list[float | None] = [0.1] * 80
    risks[40], risks[41], risks[75] = 0.6, 0.9, 0.55
    got = fold_ranges(risks, pinned={12, 41}, thresholds=TH, min_run=8, edges=2, context=1)
    assert got == [(2, 10), (14, 38), (43, 73)]
    assert [b - a + 1 for a, b in got] == [9, 25, 31]


def test_a_run_folds_from_exactly_min_run_messages() -> None:
    risks: list[float | None] = [0.1] * 14  # edges 3: #3-10 are 8 low messages
    assert fold_ranges(risks, set(), TH, min_run=8, edges=3, context=0) == [(3, 10)]
    assert fold_ranges(risks, set(), TH, min_run=9, edges=3, context=0) == []
    assert fold_ranges(risks, set(), TH, min_run=0, edges=3, context=0) == []  # 0 = never fold
    assert fold_ranges([], set(), TH, min_run=8, edges=3, context=0) == []
    # the risk at the threshold is review, not low: it splits the run
    risks[7] = 0.5
    assert fold_ranges(risks, set(), TH, min_run=2, edges=3, context=0) == [(3, 6), (8, 10)]


def test_unscored_messages_count_with_the_window_that_covered_them() -> None:
    """A batch append scores only its newest message; the others were inside that window. #0-1 arrived
    with the high #2, #3-7 with the low #8; #19 has no scored message after it: unknown, never folded."""
    risks: list[float | None] = [None, None, 0.9, None, None, None, None, None, 0.1] + [0.1] * 10 + [None]
    assert fold_ranges(risks, set(), TH, min_run=3, edges=0, context=0) == [(3, 18)]


def _detail(risks: list[float | None], top: dict[int, float]) -> CaseDetail:
    return CaseDetail(
        case_id="case-x", conversation_id="conv-x", status="open", level="high", risk=0.9, max_risk=0.9,
        model="synthetic@1", opened_at=AT, updated_at=AT, message_count=len(risks),
        messages=[EvidenceMessage(seq=100 + i, author="a" if i % 2 else "b", text=f"synthetic {i}", risk=r)
                  for i, r in enumerate(risks)],
        score_history=[], audit=[],
        top_messages=[MessageInfluence(seq=s, delta=d) for s, d in top.items()])


def test_segments_with_the_shipped_defaults_on_the_desk_story() -> None:
    """configs/serve.yaml's desk.fold_* (8, 3, 1) on tests/support/desk_story.py's long-1 risks (review
    at #30, high at #60 and #76): shown #0-2, #29-31, #59-61, #75-79; folded #3-28, #32-58, #62-74.
    Seqs start at 100 here: the fold works on positions and reports seqs."""
    from groomguard.serving.settings import load_serve_config
    from tests.support.desk_story import RISKS_LONG

    desk = load_serve_config().desk
    assert (desk.fold_low_risk_run, desk.fold_keep_edges, desk.fold_context) == (8, 3, 1)
    detail = _detail(list(RISKS_LONG), {})
    segs = segments(detail, TH, set(), desk)
    assert [(s.folded, s.first_seq - 100, s.last_seq - 100) for s in segs] == [
        (False, 0, 2), (True, 3, 28), (False, 29, 31), (True, 32, 58), (False, 59, 61), (True, 62, 74),
        (False, 75, 79)]
    # a message that moved the score (#66) is never folded: #62-74 splits into 3 and 7, both too short
    segs = segments(detail, TH, {166}, desk)
    assert [(s.folded, s.first_seq - 100, s.last_seq - 100) for s in segs] == [
        (False, 0, 2), (True, 3, 28), (False, 29, 31), (True, 32, 58), (False, 59, 79)]


@pytest.mark.parametrize("seed", range(30))
def test_every_message_stays_in_the_page_and_nothing_that_matters_is_folded(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(0, 120)
    risks: list[float | None] = [rng.choice([0.1, 0.2, 0.3, 0.6, 0.9, None]) if rng.random() < 0.15 else 0.1
                                 for _ in range(n)]
    top = {100 + i for i in range(n) if rng.random() < 0.03}
    desk = DeskConfig(fold_low_risk_run=rng.randint(1, 10), fold_keep_edges=rng.randint(0, 4),
                      fold_context=rng.randint(0, 2))
    detail = _detail(risks, {s: 0.1 for s in top})
    segs = segments(detail, TH, top, desk)
    assert [m.seq for s in segs for m in s.messages] == [m.seq for m in detail.messages]  # all, once, in order
    assert all(s.messages for s in segs)
    for s in segs:
        if not s.folded:
            continue
        assert len(s.messages) >= desk.fold_low_risk_run
        for m in s.messages:
            i = m.seq - 100
            assert m.seq not in top and desk.fold_keep_edges <= i < n - desk.fold_keep_edges
            later = next((r for r in risks[i:] if r is not None), None)
            assert later is not None and later < TH.review
            for j in range(max(0, i - desk.fold_context), min(n, i + desk.fold_context + 1)):
                near = risks[j]
                assert 100 + j not in top and (near is None or near < TH.review)


def test_mini_strip_keeps_a_spike_and_bounds_the_bars() -> None:
    from tests.support.desk_story import RISKS_LONG

    strip = mini_strip(RISKS_LONG, TH)  # 80 risks -> 40 bars of two messages each
    assert strip is not None and len(strip.bars) == 40 and strip.width == 160
    levels = {i: b.level for i, b in enumerate(strip.bars) if b.level != "low"}
    assert levels == {15: "review", 30: "high", 38: "high"}  # #30, #60, #76
    spike = [0.1] * 100
    spike[57] = 0.95  # 100 risks -> 40 bars; bar b holds #(100b//40) to #(100(b+1)//40 - 1): #57 is in bar 23 (#57-59)
    strip = mini_strip(spike, TH)
    assert strip is not None and [i for i, b in enumerate(strip.bars) if b.level == "high"] == [23]
    assert strip.bars[23].height == 15 and strip.bars[0].height == 2  # 16 px tall strip
    few = mini_strip([0.2, 0.7], TH)
    assert few is not None and [b.level for b in few.bars] == ["low", "review"]
    assert mini_strip([], TH) is None
