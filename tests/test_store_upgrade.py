"""Upgrading a populated store: `groomguard store migrate --check` and `store migrate` from the
previous schema revision, on real SQLite and real PostgreSQL.

The store is created at head-1 (the revision before this release's newest, read from the migration
scripts), filled with thousands of conversations by bulk SQL (tails, receipts, open and decided
cases with evidence and score history, audit entries, API keys, a desk user), then upgraded with the
CLI. Row counts and a checksum of every table's key columns, computed with plain SQL before and
after, must be equal; the service must then append to an old conversation and decide an old case.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from groomguard.serving.store import StoreConfig
from groomguard.serving.store.db import create_db_engine, current_revision, head_revision, migrate
from tests.support.ops import LINES, checksum
from tests.support.store import run_cli

pytest_plugins = ["tests.support.store_fixtures"]

CONVERSATIONS = 3000
TAIL = 3  # messages per conversation
# key columns per table: what an upgrade must never change
KEY_COLUMNS = {
    "conversations": "conversation_id, version, message_count, max_risk, roles",
    "tail_messages": "conversation_id, seq, message_id, author, text, risk",
    "message_receipts": "conversation_id, message_id, seq, risk, max_risk, case_id",
    "cases": "case_id, conversation_id, status, level, max_risk, decided_by, decision_note",
    "case_messages": "case_id, seq, message_id, text",
    "case_scores": "case_id, seq, risk",
    "audit_log": "id, case_id, action, actor, note",
    "api_keys": "key_id, name, scopes, secret_hash, revoked_at",
    "desk_users": "name, role, password_hash",
}


def previous_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from groomguard.serving.store.db import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    down = ScriptDirectory.from_config(cfg).get_revision(head_revision()).down_revision
    assert isinstance(down, str), "head must have exactly one parent"
    return down


def _bulk_fill(url: str) -> dict[str, int]:
    """Thousands of conversations in plain SQL at the previous revision's schema; returns the row
    counts the fill wrote (the expectation, counted here rather than read back)."""
    t0 = datetime(2026, 1, 1, 12, 0, 0)
    convs, tails, receipts, cases, evidence, scores, audit = [], [], [], [], [], [], []
    for c in range(CONVERSATIONS):
        cid = f"conv-{c:05d}"
        at = t0 + timedelta(minutes=c)
        convs.append({"id": cid, "n": TAIL, "roles": json.dumps({"ana": "A", "ben": "B"}),
                      "risk": (c % 100) / 100, "at": at})
        for s in range(TAIL):
            mid = f"{cid}-m{s}"
            tails.append({"id": cid, "seq": s, "mid": mid, "author": ("ana", "ben")[s % 2],
                          "text": LINES[(c + s) % len(LINES)], "risk": (c % 100) / 100, "at": at})
            receipts.append({"id": cid, "mid": mid, "seq": s, "risk": (c % 100) / 100,
                             "case": f"case-{c:05d}" if c % 10 == 0 else None})
        if c % 10 == 0:
            case = f"case-{c:05d}"
            status = ("open", "escalated", "confirmed", "dismissed")[(c // 10) % 4]
            decided = status in ("confirmed", "dismissed", "escalated")
            cases.append({"case": case, "id": cid, "status": status, "risk": 0.9, "at": at,
                          "dat": at + timedelta(hours=1) if decided else None,
                          "dby": "mod-a" if decided else None, "note": "reviewed" if decided else None})
            for s in range(TAIL):
                evidence.append({"case": case, "seq": s, "mid": f"{cid}-m{s}", "author": ("ana", "ben")[s % 2],
                                 "text": LINES[(c + s) % len(LINES)], "at": at})
                scores.append({"case": case, "seq": s, "risk": 0.9, "at": at})
            audit.append({"case": case, "action": "case:opened", "actor": "system", "note": None, "at": at})
            if decided:
                audit.append({"case": case, "action": f"decision:{status}", "actor": "mod-a", "note": "reviewed",
                              "at": at + timedelta(hours=1)})
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO conversations (conversation_id, version, message_count, roles, last_risk, "
                          "max_risk, created_at, last_activity_at) VALUES (:id, 1, :n, :roles, :risk, :risk, :at, "
                          ":at)"), convs)
        conn.execute(text("INSERT INTO tail_messages (conversation_id, seq, message_id, author, text, timestamp, "
                          "risk) VALUES (:id, :seq, :mid, :author, :text, :at, :risk)"), tails)
        conn.execute(text("INSERT INTO message_receipts (conversation_id, message_id, seq, risk, max_risk, case_id) "
                          "VALUES (:id, :mid, :seq, :risk, :risk, :case)"), receipts)
        conn.execute(text("INSERT INTO cases (case_id, conversation_id, status, level, risk, max_risk, model_ref, "
                          "roles, opened_at, updated_at, decided_at, decided_by, decision_note, evidence_version) "
                          "VALUES (:case, :id, :status, 'high', :risk, :risk, 'test@1', '{}', :at, :at, :dat, :dby, "
                          ":note, 1)"), cases)
        conn.execute(text("INSERT INTO case_messages (case_id, seq, message_id, author, text, timestamp, risk) "
                          "VALUES (:case, :seq, :mid, :author, :text, :at, 0.9)"), evidence)
        conn.execute(text("INSERT INTO case_scores (case_id, seq, risk, at) VALUES (:case, :seq, :risk, :at)"), scores)
        conn.execute(text("INSERT INTO audit_log (case_id, action, actor, note, at) VALUES (:case, :action, :actor, "
                          ":note, :at)"), audit)
        conn.execute(text("INSERT INTO api_keys (key_id, name, scopes, secret_hash, created_at, revoked_at, local) "
                          "VALUES ('aaaaaaaaaaaa', 'gateway', 'score', :h1, :at, NULL, false), "
                          "('bbbbbbbbbbbb', 'old', 'review', :h2, :at, :at, false)"),
                     {"h1": "1" * 64, "h2": "2" * 64, "at": t0})
        conn.execute(text("INSERT INTO desk_users (name, role, password_hash, blur, failed_logins, created_at) "
                          "VALUES ('mod-a', 'moderator', 'argon2-hash-placeholder', true, 0, :at)"), {"at": t0})
    engine.dispose()
    return {"conversations": len(convs), "tail_messages": len(tails), "message_receipts": len(receipts),
            "cases": len(cases), "case_messages": len(evidence), "case_scores": len(scores),
            "audit_log": len(audit), "api_keys": 2, "desk_users": 1}


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table, cols in KEY_COLUMNS.items():
                rows = [tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM {table}"))]
                out[table] = (len(rows), checksum(rows))
            return out
    finally:
        engine.dispose()


def test_upgrade_from_previous_revision_keeps_every_row(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    previous = previous_revision()
    engine = create_db_engine(StoreConfig(url=db_url))
    migrate(engine, previous)
    assert current_revision(engine) == previous
    engine.dispose()
    written = _bulk_fill(db_url)
    before = _fingerprint(db_url)
    assert {t: n for t, (n, _) in before.items()} == written

    code, out, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", db_url)
    assert code == 1, (out, err)
    assert "migration pending" in err and previous in err and head_revision() in err
    assert len(err.strip().splitlines()) == 1

    code, out, err = run_cli(capsys, "store", "migrate", "--db-url", db_url)
    assert code == 0, err
    assert head_revision() in out
    code, out, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", db_url)
    assert code == 0, err
    assert "no migration pending" in out

    assert _fingerprint(db_url) == before

    # the upgraded store serves: an old conversation takes an append (its old tail rows are
    # re-encoded), an old open case takes a decision
    from groomguard.schema import Message
    from groomguard.scores import Thresholds
    from groomguard.serving.review import ReviewService
    from groomguard.serving.store import RetentionConfig, StateConfig, open_store
    from tests.support.store import KeywordScorer, make_windower, tokenizer_path

    store = open_store(StoreConfig(url=db_url))
    try:
        windower = make_windower(tokenizer_path())
        svc = ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.8), "test@1",
                            StateConfig(tail_messages=8), RetentionConfig())
        out_append = svc.append_messages("conv-00001", [Message(author="ana", text="see you at the game",
                                                                   message_id="conv-00001-new")])
        assert out_append.accepted == 1
        detail = svc.decide("case-00000", "dismissed", None, actor="mod-a")
        assert detail.status == "dismissed"
    finally:
        store.close()
    probe = create_engine(db_url)
    with probe.connect() as conn:
        receipts = conn.execute(text("SELECT COUNT(*) FROM message_receipts")).scalar_one()
        assert receipts == written["message_receipts"] + 1
        assert conn.execute(text("SELECT COUNT(*) FROM tail_messages WHERE conversation_id = 'conv-00001' "
                                 "AND token_ids IS NOT NULL")).scalar_one() >= 1
    probe.dispose()


def test_migrate_check_on_fresh_unknown_and_missing(db_url: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", db_url)
    assert code == 1 and "migration pending" in err  # nothing created yet
    assert run_cli(capsys, "store", "migrate", "--db-url", db_url)[0] == 0
    assert run_cli(capsys, "store", "migrate", "--check", "--db-url", db_url)[0] == 0
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    code, _, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", db_url)
    assert code == 1 and "does not know" in err and len(err.strip().splitlines()) == 1
    missing = tmp_path / "nowhere" / "gg.db"
    code, _, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", f"sqlite:///{missing}")
    assert code == 1 and not missing.exists()


def test_check_names_an_unreachable_store_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    """`store migrate --check` (and backups, through the same `stored_revision`) on a PostgreSQL URL
    nothing listens at: exit 2 (an error, not 1 = "migration pending") with one line naming the host,
    never the password, no traceback."""
    url = "postgresql+psycopg://gg:s3cret-pw@127.0.0.1:1/nothing"
    code, out, err = run_cli(capsys, "store", "migrate", "--check", "--db-url", url)
    assert code == 2, (code, out, err)
    assert "cannot reach the store at" in err and "127.0.0.1:1" in err
    assert "s3cret-pw" not in out + err and "Traceback" not in err
