"""The one conversation -> windows -> per-message path (groomguard/window_plan.py), pinned by hand."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer

from groomguard.schema import Conversation, Message
from groomguard.window_plan import MessageSpans, WindowPlan
from groomguard.windowing import WindowConfig, Windower


def conv(cid: str, n: int) -> Conversation:
    return Conversation(conversation_id=cid, messages=[Message(author=f"u{i % 2}", text=f"hi number {i}")
                                                       for i in range(n)])


@pytest.fixture
def windower(minilm_tokenizer: Tokenizer) -> Windower:
    return Windower(minilm_tokenizer, WindowConfig(max_length=32))


def test_windows_are_the_prefix_windows_in_order(windower: Windower) -> None:
    convs = [conv("a", 3), conv("b", 1), conv("c", 4)]
    plan = WindowPlan.of(windower, convs)
    expected = [w.input_ids for c in convs for w in windower.prefix_windows(c)]
    assert plan.windows == expected
    assert plan.spans.ends == [[0, 1, 2], [0], [0, 1, 2, 3]]
    assert plan.spans.owners() == [0, 0, 0, 1, 2, 2, 2, 2]


def test_scores_map_back_to_messages_by_hand(windower: Windower) -> None:
    plan = WindowPlan.of(windower, [conv("a", 3), conv("b", 2)])
    assert plan.by_message([0.1, 0.5, 0.2, 0.9, 0.3]) == [[0.1, 0.5, 0.2], [0.9, 0.3]]


def test_stride_carries_the_last_score_forward(windower: Windower) -> None:
    spans = MessageSpans.of(windower, [conv("a", 5)], stride=2)
    # windows end at messages 1 and 3 and always at the last one (Windower.window_ends)
    assert spans.ends == [windower.window_ends(5, 2)]
    ends = spans.ends[0]
    scores = [0.2 + 0.1 * i for i in range(len(ends))]
    expected, current = [], 0.0
    for i in range(5):
        current = scores[ends.index(i)] if i in ends else current
        expected.append(current)
    assert spans.by_message(scores) == [expected]


def test_a_score_count_that_does_not_match_is_an_error(windower: Windower) -> None:
    with pytest.raises(ValueError, match="3 scores for 2 windows"):
        WindowPlan.of(windower, [conv("a", 2)]).by_message([0.1, 0.2, 0.3])
