"""Retention: idle tails expire, decided cases are purged after their keep period, open ones stay."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.windowing import Windower
from serving.retention import PeriodicPurge, purge
from serving.review import ReviewService
from serving.store import RetentionConfig, StateConfig, Store, StoreConfig, open_store
from serving.store.models import AuditRow, CaseMessageRow, CaseRow, ConversationRow, ReceiptRow, TailMessageRow
from tests.store_helpers import KeywordScorer, run_cli

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.store_fixtures"]


def count(store: Store, model: type) -> int:
    with store.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_purge(store: Store, windower: Windower) -> None:
    retention = RetentionConfig(tail_inactive_days=30, decided_case_days=365)
    svc = ReviewService(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
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
