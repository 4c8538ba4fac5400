"""Verdicts as training data: first_risk_index by hand, the store export, `groomguard data verdicts`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomguard.cli import main
from groomguard.schema import Message
from groomguard.scores import Thresholds
from groomguard.serving.review import ReviewService
from groomguard.serving.review.verdicts import export_verdicts, first_risk_index
from groomguard.serving.store import RetentionConfig, StateConfig, StoreConfig, open_store
from tests.support.store import KeywordScorer, make_windower, tokenizer_path


@pytest.mark.parametrize("risks,opened,expected", [
    ([0.1, 0.3, 0.6, 0.7, 0.2], 0.6, 2),  # the message the case opened at
    ([0.1, 0.65, 0.6], 0.6, 1),  # an earlier message already at least as risky
    ([0.1, 0.3, 0.2], 0.6, 1),  # opening message capped away: the riskiest one left
    ([None, 0.4, None], None, 1),  # no opening record: the riskiest scored message
    ([None, None], 0.5, None),  # nothing scored: nothing to point at
    ([0.5999996, 0.2], 0.6, 0),  # the audit keeps 6 decimals: 0.5999996 was stored as 0.6
])
def test_first_risk_index(risks: list[float | None], opened: float | None, expected: int | None) -> None:
    assert first_risk_index(risks, opened) == expected


def _msg(i: int, text: str) -> Message:
    return Message(author="u1" if i % 2 else "u2", text=text, message_id=f"m-{i}")


def test_export_labels_verdicts_and_cli_writes_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'gg.db'}"
    store = open_store(StoreConfig(url=url))
    windower = make_windower(tokenizer_path())
    svc = ReviewService.build(store, KeywordScorer(windower), windower, Thresholds(review=0.5, high=0.95), "t@1",
                              StateConfig(tail_messages=16), RetentionConfig())
    try:
        # streamed one message at a time: the case opens at message 2 (the trigger word), risk 0.9
        for i, text in enumerate(["hi", "how was school", "keep it a secret ok", "sure"]):
            opened = svc.append_messages("pos", [_msg(i, text)])
        pos_case = opened.case_id
        for i, text in enumerate(["our secret handshake is silly", "haha yes"]):
            neg = svc.append_messages("neg", [_msg(i, text)])
        svc.append_messages("undecided", [_msg(0, "a secret")])
        assert pos_case and neg.case_id
        svc.decide(pos_case, "confirmed", "pattern", actor="mo")
        svc.decide(neg.case_id, "dismissed", "kids' game", actor="mo")
        got = {c.conversation_id: c for c in export_verdicts(store)}
    finally:
        store.close()
    assert set(got) == {"pos", "neg"}
    assert (got["pos"].label, got["pos"].first_risk_index) == (1, 2)
    assert [m.message_id for m in got["pos"].messages] == ["m-0", "m-1", "m-2", "m-3"]  # the window + later ones
    assert got["pos"].messages[2].text == "keep it a secret ok"
    assert (got["neg"].label, got["neg"].first_risk_index) == (0, None)
    assert "decision:dismissed" in got["neg"].tags

    out = tmp_path / "v" / "verdicts.jsonl"
    with pytest.raises(SystemExit) as done:
        main(["data", "verdicts", "--db-url", url, "-o", str(out)])
    assert done.value.code == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert {x["conversation_id"]: x["label"] for x in lines} == {"pos": 1, "neg": 0}
    assert "wrote 2 decided case(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bad:
        main(["data", "verdicts", "--db-url", "nonsense://", "-o", str(out)])
    assert bad.value.code == 2
