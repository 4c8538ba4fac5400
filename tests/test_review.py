"""Streaming appends and the review queue on real SQLite and real PostgreSQL.

All chat text here is synthetic and benign; the trigger word "secret" stands for a secrecy request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import Conflict, InvalidRequest, NotFound, ReviewService, RouteOutcome
from groomguard.serving.store import RetentionConfig, StateConfig, Store
from groomguard.serving.store.orm import CaseRow, ConversationRow, ReceiptRow, TailMessageRow
from groomguard.windowing import Windower, assign_roles
from tests.support.store import KeywordScorer

TH = Thresholds(review=0.5, high=0.8)

pytest_plugins = ["tests.support.store_fixtures"]


def msg(i: int | str, text: str = "synthetic hello", author: str = "user_a") -> Message:
    return Message(author=author, text=f"{text} {i}", message_id=f"m-{i}")


def service(store: Store, windower: Windower, tail: int = 16, **state: int) -> tuple[ReviewService, KeywordScorer]:
    scorer = KeywordScorer(windower)
    return ReviewService.build(store, scorer, windower, TH, "test@1", StateConfig(tail_messages=tail, **state),
                               RetentionConfig()), scorer


def test_idempotent_appends(store: Store, windower: Windower) -> None:
    svc, scorer = service(store, windower)
    first = svc.append_messages("c-1", [msg(1), msg(2, "please keep this secret")])
    assert (first.accepted, first.duplicates, first.case_opened) == (2, 0, True)
    calls = len(scorer.calls)
    replay = svc.append_messages("c-1", [msg(1), msg(2, "please keep this secret")])
    assert (replay.risk, replay.max_risk, replay.level, replay.case_id) == (
        first.risk, first.max_risk, first.level, first.case_id)
    assert (replay.accepted, replay.duplicates, replay.case_opened) == (0, 2, False)
    assert len(scorer.calls) == calls, "a full replay must not score"
    later = svc.append_messages("c-1", [msg(3)])
    assert later.risk == pytest.approx(0.9)  # the secrecy message is still in the window
    replay_old = svc.append_messages("c-1", [msg(1)])
    # a replay answers what was recorded for its newest message: msg 1's own window (no trigger yet),
    # the running max at it, and the case its request opened
    assert (replay_old.case_id, replay_old.risk, replay_old.max_risk) == (first.case_id, 0.1, 0.1)
    assert replay_old.accepted == 0
    mixed = svc.append_messages("c-1", [msg(3), msg(4), msg(4)])  # known id, new id, repeated within request
    assert (mixed.accepted, mixed.duplicates) == (1, 2)
    no_ids = [Message(author="user_b", text="synthetic reply")] * 2
    assert svc.append_messages("c-1", no_ids).accepted == 2  # no message_id: always appended
    with store.read() as s:
        conv = s.get(ConversationRow, "c-1")
        assert conv is not None and conv.message_count == 6
        assert s.scalar(select(func.count()).select_from(ReceiptRow)) == 4
        assert s.scalar(select(func.count()).select_from(CaseRow)) == 1


def test_duplicate_after_tail_truncation_is_still_a_duplicate(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower, tail=3)
    for i in range(8):
        svc.append_messages("c-2", [msg(i, author=f"user_{i % 2}")])
    with store.read() as s:
        seqs = list(s.scalars(select(TailMessageRow.seq).where(TailMessageRow.conversation_id == "c-2")))
    assert sorted(seqs) == [5, 6, 7]  # bounded tail
    again = svc.append_messages("c-2", [msg(0, author="user_0")])
    assert (again.accepted, again.duplicates) == (0, 1)


def test_scores_only_the_newest_window_with_stable_roles(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower, tail=2)
    seen: list[list[list[int]]] = []

    def recording(windows: list[list[int]]) -> list[float]:
        seen.append(windows)
        return [0.1] * len(windows)

    svc.appends.scorer = recording
    history = [msg(0, author="alice_handle"), msg(1, author="bob_handle"), msg(2, author="carol_handle"),
               msg(3, author="alice_handle")]
    for m in history:
        svc.append_messages("c-3", [m])
    assert len(seen) == len(history) and all(len(batch) == 1 for batch in seen), "one window per append"
    roles = assign_roles(history)  # A, B, C by first appearance over the whole conversation
    expected = windower.newest_window(history[-2:], roles).input_ids
    assert seen[-1][0] == expected, "alice keeps role A after her first message left the tail"
    with store.read() as s:
        conv = s.get(ConversationRow, "c-3")
        assert conv is not None and conv.roles == {"alice_handle": "A", "bob_handle": "B", "carol_handle": "C"}


def test_case_opens_once_and_collects_evidence(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower, tail=4, case_evidence_messages=6, max_score_history=5)
    low = svc.append_messages("c-4", [msg(0), msg(1)])
    assert low.case_id is None and low.level == "low"
    opened = svc.append_messages("c-4", [msg(2, "do not tell anyone, it is our secret")])
    assert opened.case_opened and opened.level == "high" and opened.case_id
    for i in range(3, 12):
        out = svc.append_messages("c-4", [msg(i)])
        assert out.case_id == opened.case_id and not out.case_opened
    case = svc.get_case(opened.case_id)
    assert case.status == "open" and case.max_risk == pytest.approx(0.9)
    assert [m.seq for m in case.messages] == list(range(6, 12))  # evidence capped to the newest 6
    assert len(case.score_history) == 5 and case.score_history[-1].seq == 11
    assert case.audit[0].action == "opened" and case.audit[0].actor == "system"
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseRow).where(CaseRow.conversation_id == "c-4")) == 1


def test_database_refuses_a_second_active_case(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower)
    out = svc.append_messages("c-5", [msg(0, "a secret between us")])
    assert out.case_id
    with pytest.raises(IntegrityError), store.write() as s:
        s.add(CaseRow(case_id="case-dup", conversation_id="c-5", status="escalated", level="high", risk=0.9,
                      max_risk=0.9, model_ref="x", roles={}))
        s.flush()


def test_top_messages_leave_one_out(store: Store, windower: Windower) -> None:
    svc, scorer = service(store, windower)
    svc.append_messages("c-6", [msg(0), msg(1, "this stays our secret"), msg(2), msg(3)])
    case_id = svc.append_messages("c-6", [msg(4)]).case_id
    assert case_id
    calls = len(scorer.calls)
    case = svc.get_case(case_id)
    assert len(scorer.calls) == calls + 1  # one batched scorer call for all leave-one-out windows
    top = case.top_messages[0]
    assert top.message_id == "m-1" and top.delta == pytest.approx(0.8)
    assert len(case.top_messages) > 1 and all(t.delta == pytest.approx(0.0) for t in case.top_messages[1:])
    assert svc.get_case(case_id, explain=False).top_messages == []


def test_decisions_audit_listing_and_export(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower)
    ids = {}
    for n, conv in enumerate(["c-a", "c-b", "c-c"]):
        svc.appends.scorer = lambda w: [0.1] * len(w)
        svc.append_messages(conv, [msg(f"{conv}-0")])
        scorer_risk = [0.55, 0.95, 0.7][n]
        svc.appends.scorer = lambda w, r=scorer_risk: [r] * len(w)
        ids[conv] = svc.append_messages(conv, [msg(f"{conv}-1", "keep it secret")]).case_id
    page = svc.list_cases(status="open", level=None, limit=2, offset=0)
    assert page.total == 3 and [c.conversation_id for c in page.items] == ["c-b", "c-c"]
    assert [c.conversation_id for c in svc.list_cases(None, None, 2, 2).items] == ["c-a"]
    assert [c.conversation_id for c in svc.list_cases(None, "high", 10, 0).items] == ["c-b"]
    with pytest.raises(InvalidRequest):
        svc.list_cases("bogus", None, 10, 0)

    svc.decide(ids["c-a"], "dismissed", "benign banter", actor="mod-1")
    esc = svc.decide(ids["c-b"], "escalated", None, actor="mod-2")
    assert esc.status == "escalated"
    done = svc.decide(ids["c-b"], "confirmed", "confirmed by lead", actor="lead-1")
    assert done.decision == "confirmed" and done.decided_by == "lead-1" and done.decided_at is not None
    assert [(a.action, a.actor) for a in done.audit] == [
        ("opened", "system"), ("decision:escalated", "mod-2"), ("decision:confirmed", "lead-1")]
    assert done.audit[-1].note == "confirmed by lead"
    with pytest.raises(Conflict):
        svc.decide(ids["c-a"], "confirmed", None, actor="mod-1")
    with pytest.raises(NotFound):
        svc.decide("case-nope", "confirmed", None, actor="mod-1")
    with pytest.raises(NotFound):
        svc.get_case("case-nope")

    exported = {c.conversation_id: c for c in svc.export_decided()}
    assert set(exported) == {"c-a", "c-b"}  # the open case is not exported
    assert exported["c-a"].label == 0 and exported["c-b"].label == 1
    assert [m.message_id for m in exported["c-b"].messages] == ["m-c-b-0", "m-c-b-1"]
    assert f"case:{ids['c-b']}" in exported["c-b"].tags and "decision:confirmed" in exported["c-b"].tags

    # a decided case no longer blocks a new one for the same conversation
    svc.appends.scorer = lambda w: [0.9] * len(w)
    reopened = svc.append_messages("c-a", [msg("c-a-2")])
    assert reopened.case_opened and reopened.case_id != ids["c-a"]


def test_route_scored_opens_and_updates(store: Store, windower: Windower) -> None:
    from groomguard.schema import Conversation

    svc, _ = service(store, windower)
    conv = Conversation(conversation_id="c-r", messages=[msg(0), msg(1, "our secret")])
    assert svc.route_scored(conv, [0.1, 0.2]) == RouteOutcome(None, False)
    first = svc.route_scored(conv, [0.1, 0.85])
    assert first.opened and first.case_id is not None
    case_id = first.case_id
    assert case_id
    longer = Conversation(conversation_id="c-r", messages=[msg(0), msg(1, "our secret"), msg(2)])
    assert svc.route_scored(longer, [0.1, 0.85, 0.6]) == RouteOutcome(case_id, False)
    case = svc.get_case(case_id, explain=False)
    assert [m.seq for m in case.messages] == [0, 1, 2] and case.max_risk == pytest.approx(0.85)
    assert case.level == "high"
    with pytest.raises(InvalidRequest):
        svc.route_scored(conv, [0.9])


def test_append_rejects_bad_sizes(store: Store, windower: Windower) -> None:
    svc, _ = service(store, windower)
    with pytest.raises(InvalidRequest):
        svc.append_messages("c-x", [])
    with pytest.raises(InvalidRequest):
        svc.append_messages("c-x", [msg(i) for i in range(101)])
    with pytest.raises(InvalidRequest):
        svc.append_messages("c" * 256, [msg(0)])
    with pytest.raises(InvalidRequest):
        svc.append_messages("c-x", [Message(author="u" * 300, text="synthetic hello")])


def test_real_engine_end_to_end(sqlite_url: str, tiny_bundle_dir: Path) -> None:
    """The tiny ONNX bundle through ONNX Runtime scores appends and explains the case."""
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig
    from groomguard.serving.store import StoreConfig, open_store

    engine = build_engine(str(tiny_bundle_dir), EngineConfig(providers=["CPUExecutionProvider"], intra_op_threads=1))
    st = open_store(StoreConfig(url=sqlite_url))
    try:
        svc = ReviewService.build(st, lambda w: engine.score_windows(w).tolist(), engine.windower,
                                  Thresholds(review=0.0, high=1.0), engine.model_ref, StateConfig(tail_messages=8),
                                  RetentionConfig())
        convo = ["hi, how old are you?", "13, why", "you seem mature for your age", "let's keep our chats secret"]
        outs = [svc.append_messages("real-1", [Message(author=["adult_x", "kid_y"][i % 2], text=t, message_id=str(i))])
                for i, t in enumerate(convo)]
        assert outs[0].case_opened and all(o.case_id == outs[0].case_id for o in outs)
        expected = engine.score_windows([engine.windower.newest_window(
            [Message(author=["adult_x", "kid_y"][i % 2], text=t) for i, t in enumerate(convo)]).input_ids])[0]
        assert outs[-1].risk == pytest.approx(float(expected), abs=1e-6)
        assert outs[-1].max_risk == pytest.approx(max(o.risk for o in outs))
        case = svc.get_case(outs[0].case_id or "")
        assert case.model == engine.model_ref and len(case.messages) == 4 and len(case.score_history) == 4
        assert 1 <= len(case.top_messages) <= 4
        assert case.top_messages == sorted(case.top_messages, key=lambda m: m.delta, reverse=True)
    finally:
        st.close()
        engine.close()
