"""Retention: idle tails expire, decided cases are purged after their keep period, open ones stay."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.retention import PeriodicPurge, purge
from groomguard.serving.review import ReviewService
from groomguard.serving.store import RetentionConfig, StateConfig, Store, StoreConfig, open_store
from groomguard.serving.store.orm import (
    AuditRow,
    CaseMessageRow,
    CaseRow,
    ConversationRow,
    ReceiptRow,
    TailMessageRow,
)
from groomguard.windowing import Windower
from tests.support.store import KeywordScorer, run_cli

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.support.store_fixtures"]


def count(store: Store, model: type) -> int:
    with store.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_purge(store: Store, windower: Windower) -> None:
    retention = RetentionConfig(tail_inactive_days=30, decided_case_days=365)
    svc = ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                              StateConfig(), retention)
    m = lambda i, t="synthetic hello": Message(author="user_a", text=f"{t} {i}", message_id=f"m{i}")  # noqa: E731
    svc.append_messages("idle", [m(0), m(1)])
    open_case = svc.append_messages("with-open-case", [m(2, "our secret")]).case_id
    decided = svc.append_messages("decided", [m(3, "our secret")]).case_id
    assert open_case and decided
    svc.decide(decided, "dismissed", "benign", actor="mod-1")
    now = datetime.now(timezone.utc)

    assert purge(store, retention, now + timedelta(days=10)).conversations == 0  # nothing is old yet
    dry = purge(store, retention, now + timedelta(days=31), dry_run=True)
    assert (dry.conversations, dry.cases) == (2, 0)
    res = svc.purge(now + timedelta(days=31))
    assert (res.conversations, res.cases) == (2, 0)  # idle + decided conversation tails; open case keeps its tail
    with store.read() as s:
        assert set(s.scalars(select(ConversationRow.conversation_id))) == {"with-open-case"}
        assert set(s.scalars(select(TailMessageRow.conversation_id))) == {"with-open-case"}
        assert set(s.scalars(select(ReceiptRow.conversation_id))) == {"with-open-case"}
    assert svc.get_case(decided).messages, "decided case evidence outlives the tail"

    res = svc.purge(now + timedelta(days=366))
    assert res.cases == 1
    with store.read() as s:
        assert set(s.scalars(select(CaseRow.case_id))) == {open_case}
        assert set(s.scalars(select(CaseMessageRow.case_id))) == {open_case}
        assert s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.case_id == decided)) == 0
        runs = list(s.scalars(select(AuditRow).where(AuditRow.action == "retention:purge")))
    assert len(runs) == 3 and runs[-1].detail == {"conversations": 0, "cases": 1}
    # an idle conversation that comes back starts afresh
    again = svc.append_messages("idle", [m(0)])
    assert again.accepted == 1


def test_periodic_purge_runs(tmp_path: Path) -> None:
    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'g.db'}"))
    task = PeriodicPurge(store, RetentionConfig(purge_interval_minutes=0.002))  # ~0.1 s
    task.start()
    try:
        deadline = time.time() + 20
        while task.last is None and time.time() < deadline:
            time.sleep(0.05)
        assert task.last is not None
    finally:
        task.stop()
        store.close()


def test_store_purge_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(f"store:\n  url: sqlite:///{tmp_path / 'x.db'}\nretention:\n  tail_inactive_days: 0.5\n")
    store = open_store(StoreConfig(url=f"sqlite:///{tmp_path / 'x.db'}"))
    with store.write() as s:
        s.add(ConversationRow(conversation_id="old", roles={},
                              last_activity_at=datetime.now(timezone.utc) - timedelta(days=1)))
    store.close()
    code, out, err = run_cli(capsys, "store", "purge", "--config", str(cfg), "--dry-run")
    assert code == 0 and "would delete 1 idle conversation(s)" in out, err
    code, out, err = run_cli(capsys, "store", "purge", "--config", str(cfg))
    assert code == 0 and "deleted 1 idle conversation(s)" in out, err
    code, out, _ = run_cli(capsys, "store", "purge", "--config", str(cfg))
    assert code == 0 and "deleted 0 idle conversation(s)" in out
    code, _, err = run_cli(capsys, "store", "purge", "--config", str(tmp_path / "no.yaml"))
    assert code == 2 and err.startswith("error:")


def _service(store: Store, windower: Windower) -> ReviewService:
    return ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                               StateConfig(), RetentionConfig(tail_inactive_days=30, decided_case_days=365))


def _tail_ids(store: Store, conversation_id: str) -> set[str | None]:
    with store.read() as s:
        query = select(TailMessageRow.message_id).where(TailMessageRow.conversation_id == conversation_id)
        return set(s.scalars(query))


def test_escalated_cases_keep_their_tails_and_confirmed_cases_go_on_schedule(store: Store, windower: Windower) -> None:
    """docs/storage.md: an escalated case is active (never purged, its conversation keeps its tail);
    a confirmed case is final: its tail goes after tail_inactive_days, the case after decided_case_days."""
    retention = RetentionConfig(tail_inactive_days=30, decided_case_days=365)
    svc = _service(store, windower)
    m = lambda cid, i: Message(author="user_a", text=f"keep this our secret {i}", message_id=f"{cid}-{i}")  # noqa: E731
    escalated = svc.append_messages("esc", [m("esc", 0), m("esc", 1)]).case_id
    confirmed = svc.append_messages("conf", [m("conf", 0)]).case_id
    assert escalated and confirmed
    svc.decide(escalated, "escalated", "needs a second look", actor="mod-1")
    svc.decide(confirmed, "confirmed", None, actor="mod-1")
    now = datetime.now(timezone.utc)

    assert (purge(store, retention, now + timedelta(days=31)).conversations, 0) == (1, 0)
    assert _tail_ids(store, "esc") == {"esc-0", "esc-1"}, "an escalated case's conversation keeps its tail"
    assert _tail_ids(store, "conf") == set()
    assert svc.get_case(confirmed).messages, "confirmed evidence is kept until decided_case_days"

    res = purge(store, retention, now + timedelta(days=400))
    assert (res.conversations, res.cases) == (0, 1)
    with store.read() as s:
        assert set(s.scalars(select(CaseRow.case_id))) == {escalated}
        assert s.get(CaseRow, escalated).status == "escalated"  # type: ignore[union-attr]
    assert _tail_ids(store, "esc") == {"esc-0", "esc-1"}
    assert [e.message_id for e in svc.get_case(escalated).messages] == ["esc-0", "esc-1"]


def test_purge_walks_every_batch(store: Store, windower: Windower, monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows than one batch, including an exact multiple of the batch size (the loop's edge)."""
    monkeypatch.setattr("groomguard.serving.retention.BATCH", 7)
    old = datetime.now(timezone.utc) - timedelta(days=40)
    with store.write() as s:
        for i in range(14):
            s.add(ConversationRow(conversation_id=f"idle-{i:02d}", roles={}, last_activity_at=old))
            s.add(TailMessageRow(conversation_id=f"idle-{i:02d}", seq=0, message_id="x", author="u", text="hello"))
    svc = _service(store, windower)
    cases = []
    for i in range(15):
        case_id = svc.append_messages(f"dec-{i:02d}", [Message(author="u", text="our secret plan")]).case_id
        assert case_id
        svc.decide(case_id, "dismissed", None, actor="mod-1")
        cases.append(case_id)
    later = datetime.now(timezone.utc) + timedelta(days=400)
    res = purge(store, RetentionConfig(tail_inactive_days=30, decided_case_days=365), later)
    assert (res.conversations, res.cases) == (14 + 15, 15)
    assert count(store, ConversationRow) == count(store, TailMessageRow) == count(store, CaseRow) == 0


def _idle_conversation(svc: ReviewService, store: Store, cid: str) -> None:
    svc.append_messages(cid, [Message(author="u", text="hello from before", message_id=f"{cid}-old")])
    with store.write() as s:
        row = s.get(ConversationRow, cid)
        assert row is not None
        row.last_activity_at = datetime.now(timezone.utc) - timedelta(days=40)


def test_purge_between_an_appends_read_and_commit_keeps_the_message(store: Store, windower: Windower) -> None:
    """The append read the idle conversation, the purge deleted it, then the append commits: the
    acknowledged message must land (in a conversation started afresh), not vanish with the old tail."""
    retention = RetentionConfig(tail_inactive_days=30, decided_case_days=365)
    svc = _service(store, windower)
    _idle_conversation(svc, store, "back")
    score = svc.appends.scorer
    purged: list[int] = []

    def purge_then_score(windows: list[list[int]]) -> list[float]:  # runs between read and commit
        if not purged:
            purged.append(purge(store, retention).conversations)
        return list(score(windows))

    svc.appends.scorer = purge_then_score
    out = svc.append_messages("back", [Message(author="u", text="back again", message_id="back-new")])
    assert purged == [1] and out.accepted == 1
    assert _tail_ids(store, "back") == {"back-new"}


def test_append_committed_during_a_purge_is_not_deleted(store: Store, windower: Windower,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle conversation comes back after the purge selected it and before it deleted it. A correct
    purge either makes the append wait (row lock / SQLite write lock) or skips the conversation; a
    purge that deletes the ids it selected earlier loses the acknowledged message (PostgreSQL)."""
    import groomguard.serving.retention as retention_module

    retention = RetentionConfig(tail_inactive_days=30, decided_case_days=365)
    svc = _service(store, windower)
    _idle_conversation(svc, store, "back")
    delete = retention_module.conv_db.delete_conversations
    outcomes: list[object] = []
    threads: list[threading.Thread] = []

    def append_now() -> None:
        outcomes.append(svc.append_messages("back", [Message(author="u", text="back again", message_id="back-new")]))

    def delete_after_a_concurrent_append(session: object, ids: list[str]) -> None:
        if ids and not threads:
            threads.append(threading.Thread(target=append_now))
            threads[0].start()
            threads[0].join(timeout=1.0)  # a correct purge keeps it waiting: bounded, not a sync sleep
        delete(session, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(retention_module.conv_db, "delete_conversations", delete_after_a_concurrent_append)
    purge(store, retention)
    threads[0].join(timeout=60)
    assert not threads[0].is_alive() and len(outcomes) == 1
    assert "back-new" in _tail_ids(store, "back"), "acknowledged message lost to a concurrent purge"
